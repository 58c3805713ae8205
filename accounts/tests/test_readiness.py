"""Readiness makes one real KuCoin call with the broker's credentials; a refused key means not ready."""
import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def no_cached_answer():
    cache.delete("readiness:kucoin")
    yield
    cache.delete("readiness:kucoin")


def test_ready_when_kucoin_accepts_the_broker_key(client, db, sandbox_settings):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["kucoin"]["ok"] is True


def test_not_ready_with_kucoins_code_when_it_refuses_the_key(client, db, sandbox_settings, settings):
    settings.KUCOIN_API_PASSPHRASE = "made-up-wrong-passphrase"
    response = client.get("/readyz")
    assert response.status_code == 503
    kucoin = response.json()["checks"]["kucoin"]
    assert kucoin["ok"] is False and kucoin["code"] == "400004"
    assert "made-up-wrong-passphrase" not in response.content.decode()
