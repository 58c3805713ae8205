"""Per-call overhead of signing and request building: ours (kucoin/) next to KuCoin's
official SDK signer (kucoin-universal-sdk, test-only dependency), same inputs, same machine.

    python bench/bench_signing.py [--number 20000] [--repeat 5]

Prints microseconds per call (best of the repeats) and the ratio ours / SDK (< 1 is faster).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import timeit
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import requests  # noqa: E402

from kucoin import Credentials, PartnerCredentials  # noqa: E402
from kucoin.signing import Signer, encoded_query, json_body, query_pairs, raw_query  # noqa: E402
from kucoin.transport import prepare  # noqa: E402
from bench.results import Result, add_json_out_argument, write_results  # noqa: E402

# Made-up values (the spec's test vectors).
KEY, SECRET, PASS = "TEST-APIKEY-0001", "TEST-SECRET-not-a-real-secret", "test-passphrase-1"
PARTNER, BROKER_KEY, BROKER_NAME = "TESTPARTNER", "TEST-BROKERKEY-not-real", "TESTBROKERNAME"
BASE = "https://api-broker.kucoin.com"
QUERY_PATH = "/api/v1/broker/nd/account/apikey"
BODY_PATH = "/api/v1/broker/nd/transfer"
TRANSFER = {"currency": "USDT", "amount": "25.5", "direction": "OUT", "accountType": "MAIN",
            "specialUid": "100000001", "specialAccountType": "TRADE", "clientOid": "test-transfer-0001"}


# What our transport merges in from its requests.Session.
SESSION_HEADERS = requests.Session().headers


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--number", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    add_json_out_argument(ap)
    args = ap.parse_args()

    from kucoin_universal_sdk.internal.infra.default_signer import KcSigner
    from kucoin_universal_sdk.internal.infra.default_transport import DefaultTransport
    from kucoin_universal_sdk.generate.broker.ndbroker.model_get_sub_account_api_req import GetSubAccountApiReq
    from kucoin_universal_sdk.generate.broker.ndbroker.model_transfer_req import TransferReq
    from kucoin_universal_sdk.model.client_option import ClientOption
    from kucoin_universal_sdk.model.transport_option import TransportOption

    creds = Credentials(KEY, SECRET, PASS, key_version="3")
    partner = PartnerCredentials(PARTNER, BROKER_KEY, BROKER_NAME)
    ours = Signer(creds, partner)
    sdk = KcSigner(KEY, SECRET, PASS, BROKER_NAME, PARTNER, BROKER_KEY)
    sdk_transport = DefaultTransport(ClientOption(
        key=KEY, secret=SECRET, passphrase=PASS, broker_name=BROKER_NAME, broker_partner=PARTNER,
        broker_key=BROKER_KEY, transport_option=TransportOption(), spot_endpoint="https://s",
        futures_endpoint="https://f", broker_endpoint=BASE), "1.3.2")
    body = json_body(TRANSFER)
    target = QUERY_PATH + "?uid=100000001&apiKey=TEST-SUBKEY-0001"

    def ours_sign():
        return ours.headers(str(int(time.time() * 1000)), "POST", BODY_PATH, body)

    def sdk_sign():
        return sdk.broker_headers("POST" + BODY_PATH + body.decode())

    def ours_build_get():
        pairs = query_pairs([("uid", "100000001"), ("apiKey", "TEST-SUBKEY-0001")])
        url = BASE + QUERY_PATH + "?" + encoded_query(pairs)
        headers = {"Content-Type": "application/json"}
        headers.update(ours.headers(str(int(time.time() * 1000)), "GET", QUERY_PATH + "?" + raw_query(pairs)))
        return prepare("GET", url, headers, b"", SESSION_HEADERS)

    def sdk_build_get():
        return sdk_transport.process_request(GetSubAccountApiReq(uid="100000001", apiKey="TEST-SUBKEY-0001"),
                                             True, QUERY_PATH, BASE, "GET", False)

    def ours_build_post():
        b = json_body(dict(TRANSFER))
        headers = {"Content-Type": "application/json"}
        headers.update(ours.headers(str(int(time.time() * 1000)), "POST", BODY_PATH, b))
        return prepare("POST", BASE + BODY_PATH, headers, b, SESSION_HEADERS)

    def sdk_build_post():
        return sdk_transport.process_request(TransferReq(**TRANSFER), True, BODY_PATH, BASE, "POST", False)

    assert ours.headers("1718000000250", "GET", target)["KC-API-SIGN"] == "NWZ6prIEqpZvJ7JenBgyStLdZmgWVGoBe0SR++hbs9A="

    def best_us(fn, n):
        return min(timeit.repeat(fn, number=n, repeat=args.repeat)) / n * 1e6

    rows = [("sign (broker headers, POST body)", ours_sign, sdk_sign, args.number),
            ("build signed GET with query", ours_build_get, sdk_build_get, max(args.number // 4, 1)),
            ("build signed POST with JSON body", ours_build_post, sdk_build_post, max(args.number // 4, 1))]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s); best of {args.repeat} repeats")
    print(f"{'operation':36} {'ours us/call':>13} {'SDK us/call':>12} {'ratio':>7}")
    worst = 0.0
    results = []
    for name, a, b, n in rows:
        ta, tb = best_us(a, n), best_us(b, n)
        worst = max(worst, ta / tb)
        print(f"{name:36} {ta:13.2f} {tb:12.2f} {ta / tb:7.2f}")
        results.append(Result(f"signing: {name}", ta, "µs/call", tb, "official SDK", "ours ≤ SDK", ta <= tb))
    print(f"worst ratio ours/SDK: {worst:.2f} ({'not slower' if worst <= 1.0 else 'SLOWER'})")
    write_results(args.json_out, results)


if __name__ == "__main__":
    main()
