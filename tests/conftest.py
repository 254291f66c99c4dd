"""Shared fixtures.

* ``httpbin`` (from pytest-httpbin): httpbin on 127.0.0.1, for most tests.
* ``local_server``: :class:`servers.LocalServer` for what httpbin cannot do.
* ``echo_url``: a fresh ``/echo/<unique>`` URL on the local server, so a test can count the
  requests that reached the server for exactly that URL.
* ``refused_url``: a URL on a 127.0.0.1 port nothing listens on.
* ``no_proxy_env``: clears every proxy variable for a test; ``proxy``: a recording HTTP proxy.
* ``certs`` / ``tls_server``: a throw-away PKI and an HTTPS echo server using it (modules
  that need their own define fixtures of the same names).
* an autouse guard that fails (or, as a last resort, aborts) a test that hangs.
"""

from __future__ import annotations

import faulthandler
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, cast

import pytest

from production_servers import ProdServer
from servers import LocalServer
from stream_server import MODES, Mode
from tls_servers import Certs, EchoServer, HttpProxy, make_certs

#: A test running longer than this fails with an exception raised from SIGALRM.
HANG_FAIL_SECONDS = 30
#: If the SIGALRM exception cannot be delivered (a native call that never returns to Python),
#: faulthandler dumps every thread's stack and exits the process after this long.
HANG_ABORT_SECONDS = 60


class HangError(Exception):
    """Raised into a test that ran longer than HANG_FAIL_SECONDS."""


@pytest.fixture(autouse=True)
def hang_guard() -> Iterator[None]:
    can_alarm = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    previous: Callable[[int, FrameType | None], Any] | int | None = None
    if can_alarm:

        def on_alarm(signum: int, frame: FrameType | None) -> None:
            raise HangError(f"test still running after {HANG_FAIL_SECONDS}s: something hangs")

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(HANG_FAIL_SECONDS)
    faulthandler.dump_traceback_later(HANG_ABORT_SECONDS, exit=True, file=sys.stderr)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        if can_alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


@pytest.fixture
def echo_path() -> str:
    return f"/echo/{uuid.uuid4().hex}"


@pytest.fixture
def echo_url(local_server: LocalServer, echo_path: str) -> str:
    return local_server.url(echo_path)


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago and has nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def refused_url(closed_port: int) -> str:
    return f"http://127.0.0.1:{closed_port}/refused"


# -- shared by the modules that run each scenario on Client and on AsyncClient ----------------


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> Mode:
    """"sync" (Client) or "async" (AsyncClient); see ``stream_server.Twin``."""
    return cast(Mode, request.param)


@pytest.fixture
def uid() -> str:
    """A unique path segment, so a test only looks at the requests it made."""
    return uuid.uuid4().hex[:16]


@pytest.fixture(scope="module")
def srv() -> Iterator[ProdServer]:
    """The production-behaviour server (retries, trickles, counts) on 127.0.0.1."""
    with ProdServer() as server:
        yield server


#: Every variable that could route a request through a proxy.
PROXY_VARS = [
    "HTTPR_PROXY",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "REQUEST_METHOD",
]


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy variable is set for the test (use with ``pytest.mark.usefixtures``)."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def proxy() -> Iterator[HttpProxy]:
    """A real HTTP proxy on 127.0.0.1 that records the destinations it carried."""
    with HttpProxy() as p:
        yield p


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A throw-away CA, a server certificate for 127.0.0.1/localhost and a client identity."""
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_server(certs: Certs) -> Iterator[EchoServer]:
    """An HTTPS echo server presenting the ``certs`` server certificate."""
    with EchoServer(certs.server_context()) as server:
        yield server
