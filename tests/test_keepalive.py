"""A server closing idle keep-alive connections must not make the next request fail."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

import httpr
from threads import errors_in_threads


def _serve(sock: socket.socket, idle_timeout: float) -> None:
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        threading.Thread(target=_handle, args=(conn, idle_timeout), daemon=True).start()


def _handle(conn: socket.socket, idle_timeout: float) -> None:
    # Answers every request on the connection, then closes it after `idle_timeout` of silence,
    # as servers with a short keep-alive timeout do.
    conn.settimeout(idle_timeout)
    buf = b""
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            buf += data
            while b"\r\n\r\n" in buf:
                _, buf = buf.split(b"\r\n\r\n", 1)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
    except (socket.timeout, OSError):
        pass
    conn.close()


@pytest.fixture
def short_keepalive_url() -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    threading.Thread(target=_serve, args=(sock, 0.1), daemon=True).start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    sock.close()


def test_requests_after_the_server_closed_idle_connections(short_keepalive_url: str) -> None:
    with httpr.Client() as client:
        for _ in range(8):
            assert client.get(short_keepalive_url).text == "ok"
            time.sleep(0.2)  # longer than the server's idle timeout


def test_threads_sharing_a_client_after_idle_close(short_keepalive_url: str) -> None:
    client = httpr.Client()

    def work() -> None:
        for _ in range(3):
            assert client.get(short_keepalive_url).text == "ok"
            time.sleep(0.15)

    assert errors_in_threads(work, 4) == []
