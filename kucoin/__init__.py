"""A plain Python client for KuCoin's ND-broker, spot and futures REST APIs.

No Django import anywhere in this package: it can be used and tested on its own.
"""
from .client import KuCoinClient
from .clock import ServerClock
from .credentials import Credentials, Hosts, PartnerCredentials
from .transport import RequestRecord

__all__ = ["KuCoinClient", "Credentials", "PartnerCredentials", "Hosts", "ServerClock", "RequestRecord"]
