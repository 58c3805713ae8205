"""The environment that points the back-office at a running sandbox, from the sandbox's first line."""
from __future__ import annotations


def sandbox_environment(info: dict) -> dict[str, str]:
    urls, broker = info["urls"], info["broker"]
    return {
        "KUCOIN_SPOT_URL": urls["spot"],
        "KUCOIN_FUTURES_URL": urls["futures"],
        "KUCOIN_BROKER_URL": urls["broker"],
        "KUCOIN_OAUTH_URL": urls["oauth"],
        "KUCOIN_API_KEY": broker["api_key"],
        "KUCOIN_API_SECRET": broker["api_secret"],
        "KUCOIN_API_PASSPHRASE": broker["api_passphrase"],
        "KUCOIN_KEY_VERSION": str(broker.get("key_version", "2")),
        "KUCOIN_BROKER_NAME": broker["broker_name"],
        "KUCOIN_BROKER_PARTNER": broker["partner"],
        "KUCOIN_BROKER_KEY": broker["broker_key"],
        "KUCOIN_FUTURES_PARTNER": broker.get("futures_partner", ""),
        "KUCOIN_FUTURES_BROKER_KEY": broker.get("futures_broker_key", ""),
    }
