"""Every action of the accounts app that changes state, one module per subject. Only these call KuCoin."""
