"""The staff pages of the accounts app, one module per subject. Views validate, call one service and
redirect; they never call KuCoin (the queued task does, and the page shows its progress)."""
