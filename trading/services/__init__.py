"""Every action of the trading app that changes state or calls KuCoin (orders, cancel, sync, tag
verification, the broker set-up check)."""
