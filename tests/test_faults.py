"""Faults injected by a real server on 127.0.0.1 (``fault_servers``), through every way of
making a request: the sync Client (its lean HTTP/1.1 path), Client.stream, the AsyncClient
(hyper's pool) and AsyncClient.stream.

For each fault and each way (:data:`FAULTS` x :data:`KINDS`): the exception class documented in
docs/guides/errors.md (exactly that class), no socket left open by the failed request (this
process's sockets to the server's port are counted, and every descriptor once the client is
closed), the same client serving the next request (on a new connection where the broken one
could not be reused), and, from the server's own log of what it received, that a retry
happened only where the retry policy allows it: a POST whose body reached the server is never
sent again. The table on docs/guides/reliability.md is this file's :data:`FAULTS`.
"""

from __future__ import annotations

import gc
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import httpr
from fault_servers import BODY, FaultServer, TunnelDropper, client_sockets, open_fds
from stream_server import Mode, Twin, await_until, run_twin, wait_until
from tls_servers import Certs

#: Ways of making a request: (client, streamed).
KINDS: dict[str, tuple[Mode, bool]] = {
    "sync": ("sync", False),
    "stream": ("sync", True),
    "async": ("async", False),
    "astream": ("async", True),
}

#: Retries at once, so a retried fault costs no backoff.
FAST = httpr.Retry(total=2, backoff_factor=0, backoff_jitter=0)
#: The read timeout of the faults that stall (shorter than the drip's one byte a second).
STALL = 0.25
PAYLOAD = b"payload of a POST that must reach the server at most once"


@dataclass(frozen=True)
class Fault:
    name: str
    path: str
    error: type[httpr.HTTPError] | None
    """The exception raised; None: the request succeeds."""
    phase: str
    """Where it fails: "connect" (nothing reached the origin), "head" (before the response
    head: retried for the allowed methods), "body" (after it: never retried), "none"."""
    tls: bool = False
    tunnel: str | None = None
    """A :class:`TunnelDropper` mode: the request goes through that proxy."""
    timeout: float = 5.0
    body: bytes = b""
    """What a successful request reads."""
    reusable: bool = False
    """Whether the connection may serve the next request (otherwise a new one must)."""


FAULTS: list[Fault] = [
    Fault("reset after the head", "/reset-after-head", httpr.ReadError, "body"),
    Fault("reset mid-body (Content-Length)", "/reset-mid-body?framing=length", httpr.ReadError, "body"),
    Fault("reset mid-body (chunked)", "/reset-mid-body?framing=chunked", httpr.ReadError, "body"),
    Fault("close mid-body (Content-Length)", "/close-mid-body?framing=length", httpr.RemoteProtocolError, "body"),
    Fault("close mid-body (chunked)", "/close-mid-body?framing=chunked", httpr.RemoteProtocolError, "body"),
    Fault("accepts, never answers", "/black-hole", httpr.ReadTimeout, "head", timeout=STALL),
    Fault("drips a byte a second", "/drip?n=5&gap=1", httpr.ReadTimeout, "body", timeout=STALL),
    Fault("drips faster than the read timeout", "/drip?n=4&gap=0.05", None, "none", body=BODY[:4], reusable=True),
    Fault("bytes after the body", "/bytes-after-body", None, "none", body=b"ok"),
    Fault("TLS close without close_notify, body to the close", "/until-close", httpr.RemoteProtocolError, "body", tls=True),
    Fault("TLS close without close_notify mid-body", "/close-mid-body?framing=length", httpr.RemoteProtocolError, "body", tls=True),
    Fault("TLS close_notify, body to the close", "/until-close?notify=1", None, "none", tls=True, body=BODY),
    Fault("proxy drops the tunnel in the TLS handshake", "/ok", httpr.SSLError, "connect", tls=True, tunnel="handshake"),
    Fault("proxy drops the tunnel after the request", "/slow-answer", httpr.RemoteProtocolError, "head", tls=True, tunnel="request"),
]


@pytest.fixture(scope="module")
def plain() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.fixture(scope="module")
def tls(certs: Certs) -> Iterator[FaultServer]:
    with FaultServer(certs.server_context()) as server:
        yield server


def rid() -> str:
    return uuid.uuid4().hex[:12]


def own_fds(*servers: FaultServer) -> int:
    """This process's descriptors, less the servers' accepted connections. Collected first: an
    event loop kept alive by a traceback's reference cycle keeps its wake-up eventfd open."""
    gc.collect()
    return open_fds() - sum(s.open_connections for s in servers)


async def fetch(t: Twin, streamed: bool, method: httpr.HttpMethod, url: str) -> bytes:
    """One request (a POST carries :data:`PAYLOAD`), its body read to the end."""
    content = PAYLOAD if method == "POST" else None
    if streamed:
        async with t.stream(method, url, content=content) as response:
            return await response.read()
    return (await t.request(method, url, content=content)).content


class Setup:
    """The server, client settings and socket-counting port of one fault."""

    def __init__(self, fault: Fault, plain: FaultServer, tls: FaultServer, certs: Certs) -> None:
        self.fault = fault
        self.server = tls if fault.tls else plain
        self.servers = (plain, tls)
        self.proxy = TunnelDropper(self.server, fault.tunnel) if fault.tunnel else None
        #: The client's connections go to the proxy when there is one.
        self.port = self.proxy.port if self.proxy else self.server.port
        self.kwargs: httpr.ClientParams = {"timeout": fault.timeout}
        if fault.tls:
            self.kwargs["ca_cert_file"] = certs.ca_pem
        if self.proxy:
            self.kwargs["proxy"] = self.proxy.url

    def with_retries(self, retries: httpr.Retry) -> httpr.ClientParams:
        kwargs = self.kwargs.copy()
        kwargs["retries"] = retries
        return kwargs

    def close(self) -> None:
        if self.proxy:
            self.proxy.close()


@pytest.fixture
def setup(request: pytest.FixtureRequest, plain: FaultServer, tls: FaultServer, certs: Certs) -> Iterator[Setup]:
    s = Setup(request.param, plain, tls, certs)
    yield s
    s.close()


def settle(s: Setup, fds_before: int) -> None:
    """Once the client is closed: none of its sockets left, no descriptor more than before."""
    assert wait_until(lambda: client_sockets(s.port) == 0, 5), f"{client_sockets(s.port)} sockets left open"
    if not wait_until(lambda: own_fds(*s.servers) <= fds_before, 5):
        raise AssertionError(f"{own_fds(*s.servers) - fds_before} descriptors more; open now: {fd_targets()}")


def fd_targets() -> list[str]:
    """What each open descriptor of this process is (to name the one left behind)."""
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # closed meanwhile
            pass
    return sorted(out)


@pytest.fixture(scope="module", autouse=True)
def warm_up(plain: FaultServer) -> None:
    """Make the runtimes, thread pools and caches the clients keep once per process, so that
    counting descriptors afterwards counts only what a request leaves behind."""
    for mode, streamed in KINDS.values():

        async def once(t: Twin) -> bytes:
            return await fetch(t, streamed, "GET", plain.url("/ok"))

        run_twin(mode, once)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("setup", FAULTS, ids=[f.name for f in FAULTS], indirect=True)
def test_fault(setup: Setup, kind: str) -> None:
    """The documented class; the failed connection is closed; the next request works."""
    s, fault = setup, setup.fault
    mode, streamed = KINDS[kind]
    first, second = rid(), rid()
    fds_before = own_fds(*s.servers)

    async def scenario(t: Twin) -> tuple[BaseException | bytes, int, bytes, int]:
        try:
            outcome: BaseException | bytes = await fetch(t, streamed, "GET", s.server.url(fault.path, first))
        except httpr.HTTPError as exc:
            outcome = exc
        want = 1 if fault.reusable else 0
        await await_until(lambda: client_sockets(s.port) == want, 5)
        after_fault = client_sockets(s.port)
        if s.proxy:
            s.proxy.when = "never"
        body = await fetch(t, streamed, "GET", s.server.url("/ok", second))
        return outcome, after_fault, body, client_sockets(s.port)

    outcome, after_fault, body, pooled = run_twin(mode, scenario, **s.kwargs)
    if fault.error is None:
        assert outcome == fault.body
    else:
        assert type(outcome) is fault.error, f"expected {fault.error.__name__}, got {outcome!r}"
        assert isinstance(outcome, httpr.HTTPError) and outcome.request is not None
        assert first in outcome.request.url
    assert after_fault == (1 if fault.reusable else 0), f"{after_fault} sockets still open after the fault"
    assert body == f"GET {second} 0".encode()
    assert pooled == 1, "the next request's connection is pooled"

    [next_one] = s.server.received(second)
    faulty = s.server.received(first)
    assert len(faulty) == (0 if fault.phase == "connect" else 1)
    if faulty and not fault.reusable:
        assert next_one.conn != faulty[0].conn, "the broken connection was used again"
    settle(s, fds_before)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(
    "setup", [f for f in FAULTS if f.error is not None], ids=[f.name for f in FAULTS if f.error is not None], indirect=True
)
def test_fault_retries(setup: Setup, kind: str) -> None:
    """With retries on, from the server's log: a GET failing before its head is sent again, one
    failing in the body is not (retries end when the head arrives), a POST that reached the
    server never is; a request that never reached it is retried whatever its method."""
    s, fault = setup, setup.fault
    mode, streamed = KINDS[kind]
    get, post = rid(), rid()

    async def scenario(t: Twin) -> list[BaseException | bytes]:
        outcomes: list[BaseException | bytes] = []
        calls: list[tuple[httpr.HttpMethod, str]] = [("GET", get), ("POST", post)]
        for method, key in calls:
            try:
                outcomes.append(await fetch(t, streamed, method, s.server.url(fault.path, key)))
            except httpr.HTTPError as exc:
                outcomes.append(exc)
        return outcomes

    fds_before = own_fds(*s.servers)
    outcomes = run_twin(mode, scenario, **s.with_retries(FAST))
    for outcome in outcomes:
        assert type(outcome) is fault.error, f"expected {fault.error}, got {outcome!r}"
    tries = 1 + FAST.total
    if fault.phase == "connect":
        assert s.proxy is not None and s.proxy.tunnels == 2 * tries, "GET and POST both retried"
        assert s.server.received(get) == s.server.received(post) == []
        assert all("gave up after 2 retries" in str(o) for o in outcomes)
    else:
        assert len(s.server.received(get)) == (tries if fault.phase == "head" else 1)
        [sent] = s.server.received(post)
        assert (sent.method, sent.body, sent.complete) == ("POST", PAYLOAD, True)
    settle(s, fds_before)


# -- a connection closed between two requests --------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_close_between_pooled_requests(plain: FaultServer, kind: str, method: httpr.HttpMethod) -> None:
    """The server answers, then closes the connection at once (no ``Connection: close``): the
    next request must not be lost to the dead pooled connection, and reaches the server once.
    Sent right after the server closed (within the millisecond a sync client used to trust an
    idle connection without checking: a POST failed with RemoteProtocolError)."""
    mode, streamed = KINDS[kind]
    # 20 times on the lean path, whose check this is about; hyper's pool is waited for anyway.
    keys = [(rid(), rid()) for _ in range(20 if mode == "sync" else 3)]
    fds_before = own_fds(plain)

    async def scenario(t: Twin) -> list[bytes]:
        bodies = []
        for first, second in keys:
            await fetch(t, streamed, "GET", plain.url("/close-after-answer", first))
            [answered] = plain.received(first)
            await await_until(lambda: plain.closed(answered.conn), 5)
            if mode == "async":
                # hyper's pool learns of the close from its connection task; a request that
                # races that may fail (it is not sent again: it may have reached the server).
                await await_until(lambda: client_sockets(plain.port) == 0, 5)
            bodies.append(await fetch(t, streamed, method, plain.url("/ok", second)))
            assert plain.received(second)[0].conn != answered.conn
        return bodies

    bodies = run_twin(mode, scenario, timeout=5)
    length = len(PAYLOAD) if method == "POST" else 0
    assert bodies == [f"{method} {second} {length}".encode() for _, second in keys]
    for _, second in keys:
        assert len(plain.received(second)) == 1, "sent once"
    settle_plain(plain, fds_before)


def settle_plain(server: FaultServer, fds_before: int) -> None:
    assert wait_until(lambda: client_sockets(server.port) == 0, 5)
    assert wait_until(lambda: own_fds(server) <= fds_before, 5), f"{own_fds(server) - fds_before} descriptors more"


#: What happens to a request that reached the server on a pooled connection the server then
#: closed without a byte of answer, without a retry policy: (kind, method) -> times sent.
#: The sync lean path sends an idempotent request again once on a new connection (documented
#: in docs/guides/benchmarks.md); hyper's pool (AsyncClient) leaves that to ``retries=``.
DROPPED_NEXT: dict[tuple[str, str], int] = {
    ("sync", "GET"): 2,
    ("stream", "GET"): 2,
    ("async", "GET"): 1,
    ("astream", "GET"): 1,
    ("sync", "POST"): 1,
    ("stream", "POST"): 1,
    ("async", "POST"): 1,
    ("astream", "POST"): 1,
}


@pytest.mark.parametrize("retries", [None, FAST], ids=["no-retries", "retries"])
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_request_read_then_dropped_on_a_pooled_connection(
    plain: FaultServer, kind: str, method: httpr.HttpMethod, retries: httpr.Retry | None
) -> None:
    """The server reads the second request on a kept-alive connection and closes it without
    answering. The request may have had its effect: a POST is never sent again (retries or
    not) and fails with RemoteProtocolError; a GET is sent again where the policy allows."""
    mode, streamed = KINDS[kind]
    first, second = rid(), rid()
    fds_before = own_fds(plain)

    async def scenario(t: Twin) -> BaseException | bytes:
        await fetch(t, streamed, "GET", plain.url("/drop-next", first))
        try:
            return await fetch(t, streamed, method, plain.url("/ok", second))
        except httpr.HTTPError as exc:
            return exc

    outcome = run_twin(mode, scenario, retries=retries, timeout=5)
    sent = plain.received(second)
    expected = DROPPED_NEXT[(kind, method)] if retries is None else (2 if method == "GET" else 1)
    assert len(sent) == expected, [(r.conn, r.index) for r in sent]
    [dropped] = [r for r in sent if r.index == 2]
    assert dropped.conn == plain.received(first)[0].conn, "the request went out on the pooled connection"
    if expected == 2:
        assert outcome == f"GET {second} 0".encode()
    else:
        assert type(outcome) is httpr.RemoteProtocolError, repr(outcome)
    if method == "POST":
        assert all(r.body == PAYLOAD and r.complete for r in sent)
    settle_plain(plain, fds_before)


def test_drip_is_bounded_per_stall_not_in_total(plain: FaultServer) -> None:
    """A byte every 0.1 s with a 0.3 s read timeout: each wait is short, so the body arrives
    though it takes longer than the read timeout in all."""
    started = time.monotonic()
    with httpr.Client(timeout=0.3) as client:
        assert client.get(plain.url("/drip?n=6&gap=0.1")).content == BODY[:6]
    assert time.monotonic() - started > 0.5


def test_the_reliability_page_lists_every_fault() -> None:
    """docs/guides/reliability.md's faults table is :data:`FAULTS`, row for row."""
    page = (Path(__file__).resolve().parent.parent / "docs" / "guides" / "reliability.md").read_text(encoding="utf-8")
    table = page.split("<!-- faults-table -->")[1].split("<!-- /faults-table -->")[0]
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table.strip().splitlines()[2:]]
    expected = [[f.name, f"`{f.error.__name__}`" if f.error else "(succeeds)", f.phase] for f in FAULTS]
    assert rows == expected
