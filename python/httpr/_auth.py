"""Authentication flows, as in httpx: `auth=` takes an `Auth` instance or a plain callable.

An `Auth` is a generator over requests: it yields a request, receives the response and may
yield again (a retry with credentials); the last response is the one the caller gets. The
Rust core drives a flow with `run_sync` / `run_async`, giving them a `send` that performs one
request. `(username, password)` tuples stay on the native Basic auth path (`to_auth` -> None).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from base64 import b64encode
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from ._httpr import Request, Response

__all__ = ["Auth", "BasicAuth", "DigestAuth", "FunctionAuth", "run_async", "run_sync", "to_auth"]


class Auth:
    """Base class of authentication schemes.

    Subclasses override `auth_flow`, a generator that yields requests and receives each
    response: `response = yield request`. It works with both `Client` and `AsyncClient`. A flow
    that must await (for example to fetch a token) overrides `async_auth_flow` instead, or as
    well; a flow that must block overrides `sync_auth_flow`.
    """

    #: httpx compatibility: httpr requests always carry their whole body in `request.content`.
    requires_request_body = False
    #: Read the body of each response before handing it to the flow (for streamed responses).
    requires_response_body = False

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        """Yield the requests to send; each `yield` evaluates to the response received.

        The default sends the request unchanged.
        """
        yield request

    def sync_auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        """The flow `Client` runs: `auth_flow`, reading response bodies when required."""
        flow = self.auth_flow(request)
        request = _first(flow, self)
        while True:
            response = yield request
            if self.requires_response_body:
                _read(response)
            try:
                request = flow.send(response)
            except StopIteration:
                return

    async def async_auth_flow(self, request: Request) -> AsyncGenerator[Request, Response]:
        """The flow `AsyncClient` runs: `auth_flow`, reading response bodies when required."""
        flow = self.auth_flow(request)
        request = _first(flow, self)
        while True:
            response = yield request
            if self.requires_response_body:
                await _aread(response)
            try:
                request = flow.send(response)
            except StopIteration:
                return


class FunctionAuth(Auth):
    """Wraps a callable `request -> request` that edits the request (what `auth=func` means)."""

    def __init__(self, func: Callable[[Request], Request | None]) -> None:
        self._func = func

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        """Send the request the callable returns (the one it edited, if it returns None)."""
        edited = self._func(request)
        yield request if edited is None else edited


class BasicAuth(Auth):
    """HTTP Basic authentication: `Authorization: Basic base64(username:password)`.

    str credentials are encoded as UTF-8 (as httpx does); pass bytes for another encoding,
    such as latin-1 for servers that follow RFC 2617 literally.
    """

    def __init__(self, username: str | bytes, password: str | bytes) -> None:
        token = b64encode(_to_bytes(username) + b":" + _to_bytes(password)).decode("ascii")
        self._header = f"Basic {token}"

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        """Send the request once, with the Authorization header set."""
        request.headers["Authorization"] = self._header
        yield request


@dataclass(frozen=True)
class _Challenge:
    realm: str
    nonce: str
    algorithm: str
    opaque: str | None
    qop: str | None
    stale: bool


# Digest algorithm name -> hashlib name; a "-SESS" suffix is handled separately.
_HASHES = {"MD5": "md5", "SHA": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}
# One `name=value` or `name="quoted \" value"` auth-param, with the separators around it.
_PARAM = re.compile(r'[\s,]*([^\s=,]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,"]*)[\s,]*')


class DigestAuth(Auth):
    """HTTP Digest authentication (RFC 7616, RFC 2617).

    The request is sent as is; on a 401 with a `WWW-Authenticate: Digest ...` challenge it is
    sent again with `Authorization: Digest ...`. Algorithms: MD5, SHA (SHA-1), SHA-256 and
    SHA-512, each also as `-sess`; qop `auth` or none. The challenge is remembered, so later
    requests through the same object are answered at once (with the nonce count incremented)
    instead of after another 401. Safe to share between threads.
    """

    def __init__(self, username: str | bytes, password: str | bytes) -> None:
        self._username = _to_bytes(username)
        self._password = _to_bytes(password)
        self._lock = threading.Lock()
        self._challenge: _Challenge | None = None
        self._nonce_count = 0

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        """Send the request (with the remembered challenge, if any); answer a 401 challenge once.

        A 401 to the answer whose challenge says `stale=true` (the nonce expired meanwhile, the
        credentials were accepted) is answered once more with the new nonce.
        """
        with self._lock:
            known = self._challenge
            self._nonce_count += 1
            nc = self._nonce_count
        if known is not None:
            request.headers["Authorization"] = self._authorization(request, known, nc)
        response = yield request
        for attempt in range(2):
            challenge = _find_challenge(request, response)
            if challenge is None or (attempt and not challenge.stale):
                return
            with self._lock:
                self._challenge, self._nonce_count = challenge, 1
            request.headers["Authorization"] = self._authorization(request, challenge, 1)
            # The challenge may set cookies (a session) the server wants back with the answer.
            _add_cookies(request, getattr(response, "cookies", None) or {})
            response = yield request

    def _authorization(self, request: Request, challenge: _Challenge, count: int) -> str:
        """The `Authorization: Digest ...` value answering `challenge` for `request`."""
        nc = f"{count:08x}"
        algorithm = challenge.algorithm.upper()
        hash_name = _HASHES[algorithm.removesuffix("-SESS")]

        def digest(*parts: bytes) -> str:
            return hashlib.new(hash_name, b":".join(parts)).hexdigest()

        url = urlsplit(request.url)
        uri = (url.path or "/") + (f"?{url.query}" if url.query else "")
        nonce = challenge.nonce.encode()
        cnonce = _cnonce()
        ha1 = digest(self._username, challenge.realm.encode(), self._password)
        if algorithm.endswith("-SESS"):
            ha1 = digest(ha1.encode(), nonce, cnonce.encode())
        ha2 = digest(request.method.encode(), uri.encode())
        if challenge.qop:
            answer = digest(ha1.encode(), nonce, nc.encode(), cnonce.encode(), challenge.qop.encode(), ha2.encode())
        else:
            answer = digest(ha1.encode(), nonce, ha2.encode())

        fields = [
            f"username={_quote(self._username.decode('utf-8', 'replace'))}",
            f"realm={_quote(challenge.realm)}",
            f"nonce={_quote(challenge.nonce)}",
            f"uri={_quote(uri)}",
            f"response={_quote(answer)}",
            f"algorithm={challenge.algorithm}",
        ]
        if challenge.opaque is not None:
            fields.append(f"opaque={_quote(challenge.opaque)}")
        if challenge.qop:
            fields += [f"qop={challenge.qop}", f"nc={nc}"]
        if challenge.qop or algorithm.endswith("-SESS"):
            # -sess without qop is contradictory; sending the cnonce its HA1 used lets it verify.
            fields.append(f"cnonce={_quote(cnonce)}")
        return "Digest " + ", ".join(fields)


def _find_challenge(request: Request, response: Response) -> _Challenge | None:
    """The Digest challenge of a 401 response; None when it is not one."""
    if response.status_code != 401:
        return None
    for header in response.headers.get_list("www-authenticate"):
        scheme, _, params = header.strip().partition(" ")
        if scheme.lower() == "digest":
            return _challenge(params.strip(" \t,"), header, request)
    return None


def _challenge(params: str, header: str, request: Request) -> _Challenge:
    """Parse the auth-params of a Digest challenge; ProtocolError when they make no sense."""
    values: dict[str, str] = {}
    pos = 0
    while pos < len(params):
        match = _PARAM.match(params, pos)
        if match is None:
            _malformed(header, request, f"cannot parse {params[pos:]!r}")
        name, value = match.group(1).lower(), match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        values[name] = value
        pos = match.end()
    for required in ("realm", "nonce"):
        if required not in values:
            _malformed(header, request, f"no {required}")

    algorithm = values.get("algorithm", "MD5")
    if algorithm.upper().removesuffix("-SESS") not in _HASHES:
        supported = ", ".join(f"{name}, {name}-sess" for name in _HASHES)
        _malformed(header, request, f"unsupported algorithm {algorithm!r} (supported: {supported})")

    qop: str | None = None
    if values.get("qop", "").strip():
        offered = [q.strip().lower() for q in values["qop"].split(",")]
        if "auth" in offered:
            qop = "auth"
        elif "auth-int" in offered:
            # httpx refuses it too: it would need the request body hashed into every answer.
            raise NotImplementedError(
                "Digest auth with qop=auth-int (the only qop this server offers) is not supported"
            )
        else:
            _malformed(header, request, f"unknown qop {values['qop']!r}")

    return _Challenge(
        realm=values["realm"],
        nonce=values["nonce"],
        algorithm=algorithm,
        opaque=values.get("opaque"),
        qop=qop,
        stale=values.get("stale", "").lower() == "true",
    )


def _malformed(header: str, request: Request, reason: str) -> NoReturn:
    from . import ProtocolError  # lazily: httpr/__init__ imports this module

    raise ProtocolError(f"malformed Digest challenge in WWW-Authenticate ({reason}): {header!r}", request=request)


def _cnonce() -> str:
    """The client nonce of one answer (a function, so tests can pin it)."""
    return os.urandom(8).hex()


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _to_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def _add_cookies(request: Request, cookies: Mapping[str, str]) -> None:
    """Merge `cookies` into the request's Cookie header (same names replaced)."""
    if not cookies:
        return
    jar: dict[str, str] = {}
    for pair in (request.headers.get("cookie") or "").split(";"):
        name, _, value = pair.strip().partition("=")
        if name:
            jar[name] = value
    jar.update(cookies)
    request.headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in jar.items())


_NOTHING_YIELDED = "{}.{}() returned without yielding a request"


def _first(flow: Generator[Request, Response, None], auth: Auth) -> Request:
    try:
        return next(flow)
    except StopIteration:
        raise RuntimeError(_NOTHING_YIELDED.format(type(auth).__name__, "auth_flow")) from None


def _read(response: object) -> None:
    read = getattr(response, "read", None)
    if callable(read):
        read()


async def _aread(response: object) -> None:
    aread = getattr(response, "aread", None)
    if callable(aread):
        await aread()
    else:
        _read(response)


def _close(response: object) -> None:
    close = getattr(response, "close", None)
    if callable(close):
        close()


async def _aclose(response: object) -> None:
    aclose = getattr(response, "aclose", None)
    if callable(aclose):
        await aclose()
    else:
        _close(response)


# -- the drivers the Rust core calls ---------------------------------------------------------


def run_sync(auth: Auth, request: Request, send: Callable[[Request], Response]) -> Response:
    """Run `auth.sync_auth_flow(request)`: send each request it yields with `send` and feed the
    response back; return the last response. Responses the flow answered with another request
    are closed (when they can be)."""
    flow = auth.sync_auth_flow(request)
    try:
        try:
            pending = next(flow)
        except StopIteration:
            raise RuntimeError(_NOTHING_YIELDED.format(type(auth).__name__, "sync_auth_flow")) from None
        while True:
            response = send(pending)
            try:
                pending = flow.send(response)
            except StopIteration:
                return response
            except BaseException:
                _close(response)
                raise
            _close(response)
    finally:
        flow.close()


async def run_async(auth: Auth, request: Request, send: Callable[[Request], Awaitable[Response]]) -> Response:
    """Run `auth.async_auth_flow(request)` with an awaitable `send`; as `run_sync` otherwise."""
    flow = auth.async_auth_flow(request)
    try:
        try:
            pending = await anext(flow)
        except StopAsyncIteration:
            raise RuntimeError(_NOTHING_YIELDED.format(type(auth).__name__, "async_auth_flow")) from None
        while True:
            response = await send(pending)
            try:
                pending = await flow.asend(response)
            except StopAsyncIteration:
                return response
            except BaseException:
                await _aclose(response)
                raise
            await _aclose(response)
    finally:
        await flow.aclose()


def to_auth(value: object) -> Auth | None:
    """The `Auth` behind an `auth=` argument: an `Auth` as is, a callable as `FunctionAuth`.

    None and `(username, password)` tuples give None: the native Basic auth handles them.
    Anything else raises TypeError.
    """
    if isinstance(value, Auth):
        return value
    if value is None or (isinstance(value, (tuple, list)) and len(value) == 2):
        return None
    if callable(value):
        return FunctionAuth(value)
    raise TypeError(
        "auth must be a (username, password) tuple, an httpr.Auth instance (BasicAuth, DigestAuth, ...) "
        f"or a callable taking and returning the request, not {type(value).__name__}"
    )
