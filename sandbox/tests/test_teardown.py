"""The in-process server stops cleanly: its threads end and its ports close, even with a
keep-alive connection still open."""
import http.client
import socket
from urllib.parse import urlsplit

from sandbox.testing import start_in_process


def test_stop_ends_threads_and_closes_ports():
    server = start_in_process(seed=5, validate_responses=False)
    u = urlsplit(server.urls["spot"])
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    conn.request("GET", "/api/v1/timestamp")
    assert conn.getresponse().read()               # the connection stays open (keep-alive)
    threads = list(server.threads)
    server.stop()
    assert threads and not [t for t in threads if t.is_alive()]
    s = socket.socket()
    try:
        assert s.connect_ex((u.hostname, u.port)) != 0
    finally:
        s.close()
    conn.close()
