"""httpr._auth: httpx-style auth flows (Basic, Digest, callables, user subclasses) driven by
`run_sync` / `run_async`, the drivers the Rust core calls, against MockTransport handlers and
against httpbin's real Basic and Digest endpoints.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import Any, cast

import pytest

import httpr
from httpr import _auth
from httpr._auth import Auth, BasicAuth, DigestAuth, FunctionAuth, run_async, run_sync, to_auth
from httpr._types import HttpMethod

Handler = Callable[[httpr.Request], httpr.Response]


def sender(client: httpr.Client) -> Callable[[httpr.Request], httpr.Response]:
    """`send` for run_sync: one request through `client`, with the flow's headers and body."""

    def send(request: httpr.Request) -> httpr.Response:
        method, headers = cast(HttpMethod, request.method), request.headers.multi_items()
        return client.request(method, request.url, headers=headers, content=request.content)

    return send


def async_sender(client: httpr.AsyncClient) -> Callable[[httpr.Request], Awaitable[httpr.Response]]:
    async def send(request: httpr.Request) -> httpr.Response:
        method, headers = cast(HttpMethod, request.method), request.headers.multi_items()
        return await client.request(method, request.url, headers=headers, content=request.content)

    return send


def run_mock(auth: Auth, handler: Handler, url: str = "http://auth.test/data", method: str = "GET") -> httpr.Response:
    with httpr.Client(transport=httpr.MockTransport(handler)) as client:
        return run_sync(auth, httpr.Request(method, url), sender(client))


def fields(authorization: str) -> dict[str, str]:
    """The parameters of an `Authorization: Digest ...` value (quotes removed)."""
    scheme, _, rest = authorization.partition(" ")
    assert scheme == "Digest"
    return {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|[^,\s]+)', rest)}


class DigestServer:
    """A MockTransport handler protecting everything with Digest auth.

    It checks each answer with its own RFC 7616 arithmetic, counts the requests it saw and can
    expire its nonce (`expire()`), answering the old one with `stale=true`.
    """

    def __init__(self, algorithm: str = "MD5", qop: str | None = "auth", password: str = "pw") -> None:
        self.algorithm, self.qop, self.password = algorithm, qop, password
        self.nonce = "nonce-1"
        self.stale_nonces: set[str] = set()
        self.requests: list[httpr.Request] = []
        self.answers: list[dict[str, str]] = []

    def expire(self) -> None:
        self.stale_nonces.add(self.nonce)
        self.nonce = f"nonce-{len(self.stale_nonces) + 1}"

    def challenge(self, stale: bool = False) -> httpr.Response:
        qop = f', qop="{self.qop}"' if self.qop else ""
        value = f'Digest realm="api@test", nonce="{self.nonce}", opaque="op-aque"{qop}, algorithm={self.algorithm}'
        return httpr.Response(401, headers={"WWW-Authenticate": value + (", stale=true" if stale else "")})

    def expected(self, request: httpr.Request, f: dict[str, str]) -> str:
        names = {"MD5": "md5", "SHA": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}
        name = names[self.algorithm.removesuffix("-SESS")]

        def h(text: str) -> str:
            return hashlib.new(name, text.encode()).hexdigest()

        ha1 = h(f"{f['username']}:{f['realm']}:{self.password}")
        if self.algorithm.endswith("-SESS"):
            ha1 = h(f"{ha1}:{f['nonce']}:{f['cnonce']}")
        ha2 = h(f"{request.method}:{f['uri']}")
        if self.qop:
            return h(f"{ha1}:{f['nonce']}:{f['nc']}:{f['cnonce']}:{f['qop']}:{ha2}")
        return h(f"{ha1}:{f['nonce']}:{ha2}")

    def __call__(self, request: httpr.Request) -> httpr.Response:
        self.requests.append(request)
        header = request.headers.get("authorization")
        if header is None:
            return self.challenge()
        f = fields(header)
        self.answers.append(f)
        if f["nonce"] in self.stale_nonces:
            return self.challenge(stale=True)
        if f["nonce"] != self.nonce or f["response"] != self.expected(request, f):
            return self.challenge()
        return httpr.Response(200, json={"user": f["username"], "nc": f.get("nc")})


# -- Basic ---------------------------------------------------------------------------------


def test_basic_auth_encodes_str_as_utf8_and_bytes_as_given() -> None:
    seen: list[str | None] = []

    def handler(request: httpr.Request) -> httpr.Response:
        seen.append(request.headers.get("authorization"))
        return httpr.Response(200)

    assert run_mock(BasicAuth("üser", "pä"), handler).status_code == 200
    assert run_mock(BasicAuth("üser".encode("latin-1"), b"pa"), handler).status_code == 200
    # The same values httpx sends.
    assert seen == ["Basic w7xzZXI6cMOk", "Basic /HNlcjpwYQ=="]


def test_basic_auth_against_httpbin(httpbin: Any) -> None:
    url = httpbin.url + "/basic-auth/user/passwd"
    with httpr.Client() as client:
        ok = run_sync(BasicAuth("user", "passwd"), httpr.Request("GET", url), sender(client))
        bad = run_sync(BasicAuth("user", "nope"), httpr.Request("GET", url), sender(client))
    assert ok.status_code == 200 and ok.json() == {"authenticated": True, "user": "user"}
    assert bad.status_code == 401


# -- Digest: the arithmetic ------------------------------------------------------------------


def answer_to(
    challenge: str, username: str, password: str, url: str, monkeypatch: pytest.MonkeyPatch, cnonce: str
) -> dict[str, str]:
    """The Digest answer DigestAuth sends to `challenge`, with the client nonce pinned."""
    monkeypatch.setattr(_auth, "_cnonce", lambda: cnonce)
    sent: list[str] = []

    def handler(request: httpr.Request) -> httpr.Response:
        if "authorization" not in request.headers:
            return httpr.Response(401, headers={"WWW-Authenticate": challenge})
        sent.append(request.headers["authorization"])
        return httpr.Response(200)

    assert run_mock(DigestAuth(username, password), handler, url).status_code == 200
    (header,) = sent
    return fields(header)


def test_digest_md5_matches_rfc_2617_example(monkeypatch: pytest.MonkeyPatch) -> None:
    challenge = (
        'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
        'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    f = answer_to(challenge, "Mufasa", "Circle Of Life", "http://host.com/dir/index.html", monkeypatch, "0a4f113b")
    assert f == {
        "username": "Mufasa",
        "realm": "testrealm@host.com",
        "nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        "uri": "/dir/index.html",
        "response": "6629fae49393a05397450978507c4ef1",
        "algorithm": "MD5",
        "opaque": "5ccc069c403ebaf9f0171e9517f40e41",
        "qop": "auth",
        "nc": "00000001",
        "cnonce": "0a4f113b",
    }


@pytest.mark.parametrize(
    ("algorithm", "response"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_digest_matches_rfc_7616_examples(algorithm: str, response: str, monkeypatch: pytest.MonkeyPatch) -> None:
    challenge = (
        f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )
    cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
    f = answer_to(challenge, "Mufasa", "Circle of Life", "http://example.org/dir/index.html", monkeypatch, cnonce)
    assert f["response"] == response
    assert f["algorithm"] == algorithm and f["qop"] == "auth" and f["nc"] == "00000001"
    assert f["opaque"] == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


@pytest.mark.parametrize(
    "algorithm", ["MD5", "MD5-SESS", "SHA", "SHA-256", "SHA-256-SESS", "SHA-512", "SHA-512-SESS"]
)
@pytest.mark.parametrize("qop", ["auth", None])
def test_digest_algorithms_are_accepted_by_an_independent_check(algorithm: str, qop: str | None) -> None:
    server = DigestServer(algorithm, qop)
    r = run_mock(DigestAuth("alice", "pw"), server, "http://auth.test/a/b?x=1&y=%20z")
    assert r.status_code == 200 and r.json()["user"] == "alice"
    assert len(server.requests) == 2
    (answer,) = server.answers
    assert answer["uri"] == "/a/b?x=1&y=%20z" and answer["algorithm"] == algorithm
    assert ("qop" in answer, "nc" in answer) == ((True, True) if qop else (False, False))
    # The cnonce goes with qop, and with -sess, whose HA1 uses it.
    assert ("cnonce" in answer) == bool(qop or algorithm.endswith("-SESS"))


# -- Digest: the flow ------------------------------------------------------------------------


def test_digest_reuses_the_challenge_with_an_incrementing_nonce_count() -> None:
    server = DigestServer("SHA-256")
    auth = DigestAuth("alice", "pw")
    with httpr.Client(transport=httpr.MockTransport(server)) as client:
        send = sender(client)
        results = [run_sync(auth, httpr.Request("GET", f"http://auth.test/item/{i}"), send) for i in range(3)]
    assert [r.status_code for r in results] == [200, 200, 200]
    # One 401 round trip for the first request only.
    assert len(server.requests) == 4
    assert "authorization" not in server.requests[0].headers
    assert [a["nc"] for a in server.answers] == ["00000001", "00000002", "00000003"]
    assert len({a["cnonce"] for a in server.answers}) == 3


def test_digest_shared_between_threads_never_repeats_a_nonce_count() -> None:
    server = DigestServer()
    auth = DigestAuth("alice", "pw")
    with httpr.Client(transport=httpr.MockTransport(server)) as client:
        send = sender(client)
        assert run_sync(auth, httpr.Request("GET", "http://auth.test/first"), send).status_code == 200

        def one(i: int) -> int:
            return run_sync(auth, httpr.Request("GET", f"http://auth.test/{i}"), send).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(one, range(40)))
    assert statuses == [200] * 40
    assert len(server.requests) == 42
    assert sorted(int(a["nc"], 16) for a in server.answers) == list(range(1, 42))


def test_digest_renews_a_stale_nonce_and_restarts_the_count() -> None:
    server = DigestServer()
    auth = DigestAuth("alice", "pw")
    assert run_mock(auth, server).status_code == 200
    server.expire()
    r = run_mock(auth, server)
    assert r.status_code == 200
    # 401, 200, then the remembered (now stale) nonce: 401 stale=true, and the answer to the new one.
    assert len(server.requests) == 4
    assert [(a["nonce"], a["nc"]) for a in server.answers] == [
        ("nonce-1", "00000001"),
        ("nonce-1", "00000002"),
        ("nonce-2", "00000001"),
    ]


def test_digest_wrong_password_gives_the_401_after_one_answer() -> None:
    server = DigestServer(password="right")
    r = run_mock(DigestAuth("alice", "wrong"), server)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Digest ")
    assert len(server.requests) == 2


def test_digest_leaves_unchallenged_and_non_digest_responses_alone() -> None:
    seen: list[httpr.Request] = []

    def handler(request: httpr.Request) -> httpr.Response:
        seen.append(request)
        if request.url.endswith("/basic"):
            return httpr.Response(401, headers={"WWW-Authenticate": 'Basic realm="x"'})
        return httpr.Response(200, text="open")

    auth = DigestAuth("alice", "pw")
    assert run_mock(auth, handler, "http://auth.test/open").text == "open"
    assert run_mock(auth, handler, "http://auth.test/basic").status_code == 401
    assert len(seen) == 2 and all("authorization" not in r.headers for r in seen)


def test_digest_picks_the_digest_challenge_among_several_and_sends_its_cookies() -> None:
    server = DigestServer()

    def handler(request: httpr.Request) -> httpr.Response:
        r = server(request)
        if r.status_code != 401:
            return httpr.Response(200, json={"cookie": request.headers.get("cookie")})
        return httpr.Response(
            401,
            headers=[
                ("WWW-Authenticate", 'Basic realm="other"'),
                ("WWW-Authenticate", r.headers["www-authenticate"]),
                ("Set-Cookie", "session=s1; Path=/"),
            ],
        )

    # No cookie store: the Cookie header on the answer is the one DigestAuth set.
    with httpr.Client(transport=httpr.MockTransport(handler), cookie_store=False) as client:
        request = httpr.Request("GET", "http://auth.test/", headers={"Cookie": "a=1"})
        r = run_sync(DigestAuth("alice", "pw"), request, sender(client))
    assert r.status_code == 200
    assert r.json() == {"cookie": "a=1; session=s1"}


@pytest.mark.parametrize(
    ("challenge", "reason"),
    [
        ('Digest nonce="abc"', "no realm"),
        ('Digest realm="r"', "no nonce"),
        ('Digest realm="r", nonce="unterminated', "cannot parse"),
        ("Digest realm", "cannot parse"),
        ('Digest realm="r", nonce="n", algorithm=MD4', "unsupported algorithm 'MD4'"),
        ('Digest realm="r", nonce="n", qop="bogus"', "unknown qop 'bogus'"),
    ],
)
def test_malformed_digest_challenge_raises_protocol_error(challenge: str, reason: str) -> None:
    def handler(request: httpr.Request) -> httpr.Response:
        return httpr.Response(401, headers={"WWW-Authenticate": challenge})

    with pytest.raises(httpr.ProtocolError) as info:
        run_mock(DigestAuth("alice", "pw"), handler)
    message = str(info.value)
    assert message.startswith(f"malformed Digest challenge in WWW-Authenticate ({reason}")
    assert repr(challenge) in message
    assert info.value.request is not None and info.value.request.url == "http://auth.test/data"


def test_digest_refuses_a_server_offering_only_auth_int() -> None:
    def handler(request: httpr.Request) -> httpr.Response:
        return httpr.Response(401, headers={"WWW-Authenticate": 'Digest realm="r", nonce="n", qop="auth-int"'})

    only_auth_int = r"qop=auth-int \(the only qop this server offers\) is not supported"
    with pytest.raises(NotImplementedError, match=only_auth_int):
        run_mock(DigestAuth("alice", "pw"), handler)


def test_digest_quotes_values_with_quotes_and_backslashes() -> None:
    seen: list[str] = []

    def handler(request: httpr.Request) -> httpr.Response:
        if "authorization" not in request.headers:
            return httpr.Response(401, headers={"WWW-Authenticate": r'Digest realm="a \"quoted\" realm", nonce="n"'})
        seen.append(request.headers["authorization"])
        return httpr.Response(200)

    run_mock(DigestAuth('al"ice\\', "pw"), handler)
    (header,) = seen
    assert r'username="al\"ice\\"' in header and r'realm="a \"quoted\" realm"' in header
    # The hashes use the unescaped values.
    ha1 = hashlib.md5('al"ice\\:a "quoted" realm:pw'.encode()).hexdigest()
    ha2 = hashlib.md5(b"GET:/data").hexdigest()
    assert f'response="{hashlib.md5(f"{ha1}:n:{ha2}".encode()).hexdigest()}"' in header


# -- Digest against httpbin ------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "SHA-512"])
def test_digest_against_httpbin_reuses_the_nonce(httpbin: Any, algorithm: str) -> None:
    url = f"{httpbin.url}/digest-auth/auth/user/passwd/{algorithm}"
    auth = DigestAuth("user", "passwd")
    sent: list[httpr.Request] = []
    with httpr.Client() as client:
        send = sender(client)

        def counting(request: httpr.Request) -> httpr.Response:
            sent.append(request)
            return send(request)

        first = run_sync(auth, httpr.Request("GET", url), counting)
        second = run_sync(auth, httpr.Request("GET", url), counting)
        wrong = run_sync(DigestAuth("user", "nope"), httpr.Request("GET", url), send)
    assert first.status_code == 200 and first.json() == {"authenticated": True, "user": "user"}
    assert second.status_code == 200 and second.json() == {"authenticated": True, "user": "user"}
    assert len(sent) == 3  # 401 + answer, then the second request answered at once
    assert fields(sent[2].headers["authorization"])["nc"] == "00000002"
    assert wrong.status_code == 401


def test_digest_against_httpbin_renews_a_stale_nonce(httpbin: Any) -> None:
    # stale_after=1: httpbin accepts one answer per nonce, then replies 401 stale=true (tracked
    # in cookies, which the client's cookie store keeps).
    url = f"{httpbin.url}/digest-auth/auth/user/passwd/MD5/1"
    auth = DigestAuth("user", "passwd")
    statuses: list[int] = []
    with httpr.Client() as client:
        send = sender(client)

        def recording(request: httpr.Request) -> httpr.Response:
            response = send(request)
            statuses.append(response.status_code)
            return response

        results = [run_sync(auth, httpr.Request("GET", url), recording) for _ in range(2)]
    assert [r.status_code for r in results] == [200, 200]
    assert statuses == [401, 200, 401, 200]


# -- FunctionAuth, to_auth and user subclasses ------------------------------------------------


def test_a_callable_becomes_function_auth() -> None:
    def sign(request: httpr.Request) -> httpr.Request:
        request.headers["X-Signature"] = f"{request.method} {request.url}"
        return request

    def edit_in_place(request: httpr.Request) -> None:
        request.headers["X-Edited"] = "yes"

    seen: list[httpr.Request] = []

    def handler(request: httpr.Request) -> httpr.Response:
        seen.append(request)
        return httpr.Response(204)

    auth = to_auth(sign)
    assert isinstance(auth, FunctionAuth)
    assert run_mock(auth, handler).status_code == 204
    assert run_mock(FunctionAuth(edit_in_place), handler).status_code == 204
    assert seen[0].headers["x-signature"] == "GET http://auth.test/data"
    assert seen[1].headers["x-edited"] == "yes"


def test_to_auth_sorts_what_auth_accepts() -> None:
    digest = DigestAuth("a", "b")
    assert to_auth(digest) is digest
    assert to_auth(None) is None
    assert to_auth(("user", "pw")) is None and to_auth(("user", None)) is None and to_auth(["user", "pw"]) is None
    for bad in (123, "user:pw", ("a", "b", "c")):
        with pytest.raises(TypeError) as info:
            to_auth(bad)
        assert str(info.value) == (
            "auth must be a (username, password) tuple, an httpr.Auth instance (BasicAuth, DigestAuth, ...) "
            f"or a callable taking and returning the request, not {type(bad).__name__}"
        )


class RefreshingTokenAuth(Auth):
    """A multi-step flow: on a 401, fetch a new token from /token and retry."""

    def __init__(self) -> None:
        self.token = "expired"

    def auth_flow(self, request: httpr.Request) -> Generator[httpr.Request, httpr.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code == 401:
            refreshed = yield httpr.Request("POST", "http://auth.test/token", content=b"grant=refresh")
            self.token = refreshed.json()["token"]
            request.headers["Authorization"] = f"Bearer {self.token}"
            yield request


def token_server() -> tuple[list[str], Handler]:
    log: list[str] = []

    def handler(request: httpr.Request) -> httpr.Response:
        path, token = request.url.rsplit("/", 1)[1], request.headers.get("authorization")
        log.append(f"{request.method} {path} {token} {request.content.decode()}".strip())
        if request.url.endswith("/token"):
            return httpr.Response(200, json={"token": "fresh"})
        if request.headers.get("authorization") != "Bearer fresh":
            return httpr.Response(401)
        return httpr.Response(200, text="secret")

    return log, handler


def test_user_subclass_with_a_multi_step_flow() -> None:
    log, handler = token_server()
    auth = RefreshingTokenAuth()
    assert run_mock(auth, handler).text == "secret"
    assert run_mock(auth, handler).text == "secret"
    assert log == [
        "GET data Bearer expired",
        "POST token None grant=refresh",
        "GET data Bearer fresh",
        "GET data Bearer fresh",
    ]


class FakeResponse:
    """Stands in for a streamed response, to see what the drivers read and close."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[str] = []

    def read(self) -> bytes:
        self.events.append("read")
        return b""

    def close(self) -> None:
        self.events.append("close")


class TwoStep(Auth):
    requires_response_body = True

    def __init__(self) -> None:
        self.closed = False

    def auth_flow(self, request: httpr.Request) -> Generator[httpr.Request, httpr.Response, None]:
        try:
            yield request
            yield request
        finally:
            self.closed = True


def test_run_sync_reads_when_asked_closes_replaced_responses_and_closes_the_flow() -> None:
    made: list[FakeResponse] = []

    def send(request: httpr.Request) -> httpr.Response:
        made.append(FakeResponse(f"r{len(made)}"))
        return cast(httpr.Response, made[-1])

    auth = TwoStep()
    last = run_sync(auth, httpr.Request("GET", "http://auth.test/"), send)
    assert cast(FakeResponse, last) is made[1]
    assert made[0].events == ["read", "close"] and made[1].events == ["read"]
    assert auth.closed


def test_run_sync_propagates_send_errors_and_closes_the_flow() -> None:
    def send(request: httpr.Request) -> httpr.Response:
        raise httpr.ConnectError("refused")

    auth = TwoStep()
    with pytest.raises(httpr.ConnectError, match="refused"):
        run_sync(auth, httpr.Request("GET", "http://auth.test/"), send)
    assert auth.closed


def test_a_flow_that_yields_nothing_is_a_clear_error() -> None:
    class Empty(Auth):
        def auth_flow(self, request: httpr.Request) -> Generator[httpr.Request, httpr.Response, None]:
            return
            yield request

    with pytest.raises(RuntimeError, match=r"^Empty\.auth_flow\(\) returned without yielding a request$"):
        run_mock(Empty(), lambda request: httpr.Response(200))


# -- async -----------------------------------------------------------------------------------


def test_async_digest_reuses_the_challenge() -> None:
    server = DigestServer("SHA-512-SESS")

    async def handler(request: httpr.Request) -> httpr.Response:
        await asyncio.sleep(0)
        return server(request)

    async def main() -> list[int]:
        auth = DigestAuth("alice", "pw")
        async with httpr.AsyncClient(transport=httpr.MockTransport(handler)) as client:
            send = async_sender(client)
            results = [await run_async(auth, httpr.Request("GET", f"http://auth.test/{i}"), send) for i in range(2)]
            return [r.status_code for r in results]

    assert asyncio.run(main()) == [200, 200]
    assert len(server.requests) == 3
    assert [a["nc"] for a in server.answers] == ["00000001", "00000002"]


def test_async_digest_against_httpbin(httpbin: Any) -> None:
    async def main() -> httpr.Response:
        async with httpr.AsyncClient() as client:
            url = f"{httpbin.url}/digest-auth/auth/user/passwd/SHA-256"
            return await run_async(DigestAuth("user", "passwd"), httpr.Request("GET", url), async_sender(client))

    r = asyncio.run(main())
    assert r.status_code == 200 and r.json() == {"authenticated": True, "user": "user"}


def test_async_runs_a_sync_auth_flow_subclass() -> None:
    log, handler = token_server()

    async def main() -> str:
        async with httpr.AsyncClient(transport=httpr.MockTransport(handler)) as client:
            request = httpr.Request("GET", "http://auth.test/data")
            return (await run_async(RefreshingTokenAuth(), request, async_sender(client))).text

    assert asyncio.run(main()) == "secret"
    assert log == ["GET data Bearer expired", "POST token None grant=refresh", "GET data Bearer fresh"]


class AsyncTokenAuth(Auth):
    """Overrides async_auth_flow: awaits (a stand-in for fetching a token) between steps."""

    def __init__(self) -> None:
        self.fetched = 0

    async def fetch_token(self) -> str:
        await asyncio.sleep(0)
        self.fetched += 1
        return f"tok-{self.fetched}"

    async def async_auth_flow(self, request: httpr.Request) -> AsyncGenerator[httpr.Request, httpr.Response]:
        request.headers["Authorization"] = f"Bearer {await self.fetch_token()}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {await self.fetch_token()}"
            yield request


def test_async_auth_flow_override_with_async_def_and_yield() -> None:
    seen: list[str | None] = []

    def handler(request: httpr.Request) -> httpr.Response:
        seen.append(request.headers.get("authorization"))
        return httpr.Response(200 if request.headers.get("authorization") == "Bearer tok-2" else 401)

    async def main() -> int:
        async with httpr.AsyncClient(transport=httpr.MockTransport(handler)) as client:
            request = httpr.Request("GET", "http://auth.test/")
            return (await run_async(AsyncTokenAuth(), request, async_sender(client))).status_code

    assert asyncio.run(main()) == 200
    assert seen == ["Bearer tok-1", "Bearer tok-2"]


def test_run_async_closes_replaced_responses() -> None:
    made: list[FakeResponse] = []

    async def send(request: httpr.Request) -> httpr.Response:
        made.append(FakeResponse(f"r{len(made)}"))
        return cast(httpr.Response, made[-1])

    auth = TwoStep()
    last = asyncio.run(run_async(auth, httpr.Request("GET", "http://auth.test/"), send))
    assert cast(FakeResponse, last) is made[1]
    assert made[0].events == ["read", "close"] and made[1].events == ["read"]
    assert auth.closed
