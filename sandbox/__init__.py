"""An offline, stateful fake of KuCoin's REST API (spot, futures, ND broker and OAuth hosts).

Start it with ``python -m sandbox``; use it in tests through the fixtures of ``sandbox.testing``.
The contract for people adding endpoints is ``sandbox/README.md``.
"""
