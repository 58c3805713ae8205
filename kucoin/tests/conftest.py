import os

import pytest

from kucoin import Credentials, Hosts, KuCoinClient, PartnerCredentials
from kucoin.ratelimit import InProcessRateLimiter

from .fakeserver import FakeKuCoin

# Made-up values (the spec's test vectors); nothing here resembles a real credential.
API_KEY = "TEST-APIKEY-0001"
API_SECRET = "TEST-SECRET-not-a-real-secret"
API_PASSPHRASE = "test-passphrase-1"
PARTNER = "TESTPARTNER"
BROKER_KEY = "TEST-BROKERKEY-not-real"
BROKER_NAME = "TESTBROKERNAME"
FUT_PARTNER = "TESTFUTPARTNER"
FUT_BROKER_KEY = "TEST-FUT-BROKERKEY-not-real"
FUT_BROKER_NAME = "TESTFUTBROKER"


@pytest.fixture
def creds():
    return Credentials(API_KEY, API_SECRET, API_PASSPHRASE, key_version="2", credential_id="broker:1")


@pytest.fixture
def spot_partner():
    return PartnerCredentials(PARTNER, BROKER_KEY, BROKER_NAME)


@pytest.fixture
def futures_partner():
    return PartnerCredentials(FUT_PARTNER, FUT_BROKER_KEY, FUT_BROKER_NAME)


@pytest.fixture
def fake():
    f = FakeKuCoin(keys={API_KEY: (API_SECRET, API_PASSPHRASE)},
                   partners={PARTNER: (BROKER_KEY, BROKER_NAME), FUT_PARTNER: (FUT_BROKER_KEY, FUT_BROKER_NAME)})
    f.start()
    yield f
    f.stop()


@pytest.fixture
def records():
    return []


@pytest.fixture
def make_client(fake, creds, spot_partner, futures_partner, records):
    clients = []

    def make(**kw):
        opts = dict(hosts=Hosts(spot=fake.url, futures=fake.url, broker=fake.url, oauth=fake.url),
                    spot_partner=spot_partner, futures_partner=futures_partner,
                    rate_limiter=InProcessRateLimiter(), on_request=records.append,
                    timeout=(2, 2), sleep=lambda s: None)
        opts.update(kw)
        c = KuCoinClient(kw.pop("credentials", creds), **{k: v for k, v in opts.items() if k != "credentials"})
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def redis_client():
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set: the Redis rate-limiter tests need a Redis server (CI sets it)")
    import redis
    r = redis.Redis.from_url(url)
    r.ping()
    return r
