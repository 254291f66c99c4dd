"""httpr under requests: `session.mount("https://", httpr.RequestsAdapter())` sends what the
session prepares through httpr's connection pool.

The adapter sends exactly one request (requests follows redirects and keeps cookies); it
honours what requests passes to `send`: `stream=`, `timeout=` (a number or `(connect, read)`),
`verify=`, `cert=` and `proxies=`, and raises `requests.exceptions`. requests is imported when
an adapter is made, so httpr keeps no dependency on it.
"""

from __future__ import annotations

import http.client
import threading
from typing import TYPE_CHECKING, Any, Iterator

from ._exceptions import HTTPError as _HTTPError
from ._httpr import Client, Limits, Timeout
from ._httpx_transport import require
from ._transports import network_settings

if TYPE_CHECKING:
    import requests
    import requests.adapters

    _AdapterBase = requests.adapters.BaseAdapter  # mixed in at run time (`_mixed`)
else:
    _AdapterBase = object

__all__ = ["RequestsAdapter"]

_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})


def _requests() -> Any:
    return require("requests", "RequestsAdapter")


def requests_error(exc: _HTTPError, request: Any) -> Exception:
    """The requests exception for an httpr one (requests' names differ from httpx's)."""
    import httpr

    rex = _requests().exceptions
    table: list[tuple[type, Any]] = [
        (httpr.ConnectTimeout, rex.ConnectTimeout),
        (httpr.ReadTimeout, rex.ReadTimeout),
        (httpr.TimeoutException, rex.Timeout),
        (httpr.SSLError, rex.SSLError),
        (httpr.ProxyError, rex.ProxyError),
        (httpr.InvalidURL, rex.InvalidURL),
        (httpr.UnsupportedProtocol, rex.InvalidSchema),
        (httpr.DecodingError, rex.ContentDecodingError),
        (httpr.StreamConsumed, rex.StreamConsumedError),
        (httpr.TransportError, rex.ConnectionError),
    ]
    for ours, theirs in table:
        if isinstance(exc, ours):
            return theirs(str(exc), request=request)  # type: ignore[no-any-return]
    return rex.RequestException(str(exc), request=request)  # type: ignore[no-any-return]


def _timeout(timeout: Any) -> Timeout:
    """requests' `timeout=`: None (no limit), a number, or `(connect, read)`."""
    if isinstance(timeout, tuple):
        connect, read = timeout
        return Timeout(connect=connect, read=read, write=read, pool=connect)
    return Timeout(timeout)


class _Raw:
    """What requests reads a response body from (`response.raw`): `read(amt)`, `stream()`,
    `close()`, and the header message its cookie code looks at."""

    def __init__(self, r: Any, request: Any) -> None:
        self._r = r
        self._request = request
        self._chunks: Iterator[bytes] | None = None
        self._buffer = b""
        self.status = r.status_code
        self.reason = r.reason_phrase
        self.headers = r.headers
        msg = http.client.HTTPMessage()
        for k, v in r.headers.multi_items():
            msg[k] = v
        # requests.cookies.extract_cookies_to_jar reads Set-Cookie from here.
        self._original_response = type("_Original", (), {"msg": msg})()

    def _next(self) -> bytes | None:
        if self._chunks is None:
            self._chunks = iter(self._r.iter_bytes())
        try:
            return next(self._chunks)
        except StopIteration:
            return None
        except _HTTPError as exc:
            raise requests_error(exc, self._request) from exc

    def read(self, amt: int | None = None, decode_content: bool = True) -> bytes:
        while amt is None or len(self._buffer) < amt:
            chunk = self._next()
            if chunk is None:
                break
            self._buffer += chunk
        if amt is None:
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:amt], self._buffer[amt:]
        return out

    def stream(self, amt: int = 65536, decode_content: bool = True) -> Iterator[bytes]:
        while True:
            data = self.read(amt)
            if not data:
                return
            yield data

    def close(self) -> None:
        self._r.close()

    def release_conn(self) -> None:
        self._r.close()


class RequestsAdapter(_AdapterBase):
    """A `requests.adapters.BaseAdapter` backed by httpr: `session.mount("https://",
    httpr.RequestsAdapter())`. `max_retries` retries connection failures; `http2`, `limits`
    and `trust_env` configure the pool as on `httpr.Client`. TLS and proxy settings come from
    each `send()` (the session's `verify`, `cert` and `proxies`); a client is kept per
    distinct combination."""

    def __new__(cls, *args: Any, **kwargs: Any) -> RequestsAdapter:
        from ._httpx_transport import _mixed

        return super().__new__(_mixed(cls, _requests().adapters.BaseAdapter))  # type: ignore[no-any-return]

    def __init__(self, max_retries: int = 0, http2: bool = False, limits: Limits | None = None, trust_env: bool = True) -> None:
        super().__init__()
        self._options = (trust_env, http2, limits, max_retries)
        self._clients: dict[tuple[Any, ...], Client] = {}
        self._lock = threading.Lock()

    def _client(self, verify: Any, cert: Any, proxy: str | None) -> Client:
        cert = tuple(cert) if isinstance(cert, list) else cert
        key = (verify if isinstance(verify, (bool, str)) else id(verify), cert, proxy)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                trust_env, http2, limits, retries = self._options
                client = Client(**network_settings(verify, cert, trust_env, True, http2, limits, proxy, retries))
                self._clients[key] = client
            return client

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        """Send the prepared request; the response streams when `stream=True`."""
        req = _requests()
        url = request.url or ""
        proxy = req.utils.select_proxy(url, proxies) if proxies else None
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _FRAMING]
        body: Any = request.body
        if hasattr(body, "read") and not hasattr(body, "__iter__"):
            body = iter(lambda: body.read(65536), b"")  # a file-like body, streamed
        try:
            client = self._client(verify, cert, proxy)
            r = client.stream(request.method or "GET", url, headers=headers, content=body or None, timeout=_timeout(timeout))
        except _HTTPError as exc:
            raise requests_error(exc, request) from exc
        response = req.Response()
        response.status_code = r.status_code
        # Repeated headers joined with ", ", as urllib3 gives them to requests.
        response.headers = req.structures.CaseInsensitiveDict({k: r.headers[k] for k in r.headers.keys()})
        response.encoding = req.utils.get_encoding_from_headers(response.headers)
        response.raw = _Raw(r, request)
        response.reason = r.reason_phrase
        response.url = url
        req.cookies.extract_cookies_to_jar(response.cookies, request, response.raw)
        response.request = request
        response.connection = self
        if not stream:
            response.content  # noqa: B018 - read now, as requests' own adapter leads to
        return response  # type: ignore[no-any-return]

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()
