"""httpr under httpx: `httpx.Client(transport=httpr.HTTPXTransport())` sends each request httpx
builds through httpr's connection pool and streams the body back from httpr's connection.

Redirects, cookies and auth stay httpx's job (the transport sends exactly one request); TLS,
proxies, HTTP/2, connection retries and pool limits are configured on the transport, and the
timeouts come from each request's `extensions["timeout"]`, as httpx's own transport reads them.
httpx is imported when a transport is made, so httpr keeps no dependency on it. `httpx2`
(httpx's successor, which the OpenAI and Anthropic SDKs now build on) works the same way: the
transport answers each request with the response and exception classes of the package the
request came from.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any, AsyncIterator, Iterator

from ._exceptions import HTTPError as _HTTPError
from ._httpr import AsyncClient, Timeout
from ._transports import NetworkTransport

if TYPE_CHECKING:
    import httpx

    # For type checkers the transports are httpx's; at run time the bases are mixed in when
    # one is made (`_mixed`), as httpx is optional.
    _SyncBase = httpx.BaseTransport
    _AsyncBase = httpx.AsyncBaseTransport
else:
    _SyncBase = _AsyncBase = object

__all__ = ["AsyncHTTPXTransport", "HTTPXTransport"]

# Framing headers httpr writes itself from the body it sends.
_FRAMING = frozenset({b"host", b"content-length", b"transfer-encoding", b"connection"})


def require(package: str, what: str) -> Any:
    """Import an optional package, or say clearly which one is missing."""
    try:
        return importlib.import_module(package)
    except ImportError:
        raise ImportError(f"httpr.{what} needs the {package!r} package: pip install {package}") from None


_FLAVOURS = ("httpx", "httpx2")


def _flavours() -> list[Any]:
    """The httpx packages installed (httpx, httpx2); ImportError when there is neither."""
    found = []
    for name in _FLAVOURS:
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            pass
    if not found:
        raise ImportError("httpr.HTTPXTransport needs the 'httpx' package (or 'httpx2'): pip install httpx")
    return found


def _module_of(request: Any) -> Any:
    """The httpx package a request object belongs to."""
    return sys.modules[type(request).__module__.split(".")[0]]


def httpx_error(exc: _HTTPError, request: httpx.Request) -> Exception:
    """The httpx exception of the same name (httpr's tree mirrors httpx's), carrying `request`."""
    httpx = _module_of(request)
    for cls in type(exc).__mro__:
        target = getattr(httpx, cls.__name__, None)
        if isinstance(target, type) and issubclass(target, httpx.RequestError):
            return target(str(exc), request=request)  # type: ignore[no-any-return]
    return httpx.TransportError(str(exc), request=request)  # type: ignore[no-any-return]


def _timeout(request: httpx.Request) -> Timeout | None:
    t = request.extensions.get("timeout")
    if not t:
        return None
    return Timeout(connect=t.get("connect"), read=t.get("read"), write=t.get("write"), pool=t.get("pool"))


def _headers(request: httpx.Request) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw if k.lower() not in _FRAMING]


def _response(httpx: Any, r: Any, stream: Any) -> httpx.Response:
    extensions = {"http_version": r.http_version.encode("ascii"), "reason_phrase": r.reason_phrase.encode("ascii")}
    return httpx.Response(r.status_code, headers=r.headers.multi_items(), stream=stream, extensions=extensions)  # type: ignore[no-any-return]


class HTTPXTransport(NetworkTransport, _SyncBase):
    """An `httpx.BaseTransport` backed by httpr: `httpx.Client(transport=httpr.HTTPXTransport())`.

    Arguments as httpx's `HTTPTransport` (see `httpr.HTTPTransport`): `verify`, `cert`,
    `trust_env`, `http1`, `http2`, `limits`, `proxy`, `retries` (connection failures). Exceptions are httpx's
    (`httpx.ConnectError`, `httpx.ReadTimeout`, ...), so `except httpx.X` keeps working.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> HTTPXTransport:
        # A subclass of httpx.BaseTransport too, made once httpx is imported.
        return super().__new__(_mixed(cls, *(m.BaseTransport for m in _flavours())))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` as it is and return the response, its body still on the wire."""
        httpx = _module_of(request)
        try:
            content: Any = request.content
        except httpx.RequestNotRead:
            content = iter(request.stream)  # a streamed upload stays streamed
        try:
            r = self._client.stream(
                request.method, str(request.url), headers=_headers(request), content=content or None, timeout=_timeout(request)
            )
        except _HTTPError as exc:
            raise httpx_error(exc, request) from exc
        return _response(httpx, r, _mixed(_SyncStream, httpx.SyncByteStream)(r, request))

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HTTPXTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncHTTPXTransport(NetworkTransport, _AsyncBase):
    """An `httpx.AsyncBaseTransport` backed by httpr's AsyncClient (same arguments as
    `HTTPXTransport`): `httpx.AsyncClient(transport=httpr.AsyncHTTPXTransport())`."""

    def __new__(cls, *args: Any, **kwargs: Any) -> AsyncHTTPXTransport:
        return super().__new__(_mixed(cls, *(m.AsyncBaseTransport for m in _flavours())))

    client_class = AsyncClient

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` as it is and return the response, its body still on the wire."""
        httpx = _module_of(request)
        try:
            content: Any = request.content
        except httpx.RequestNotRead:
            content = request.stream  # an async byte stream: pumped while sending
        opened = self._client.stream(
            request.method, str(request.url), headers=_headers(request), content=content or None, timeout=_timeout(request)
        )
        try:
            r = await opened.__aenter__()
        except _HTTPError as exc:
            raise httpx_error(exc, request) from exc
        return _response(httpx, r, _mixed(_AsyncStream, httpx.AsyncByteStream)(opened, r, request))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> AsyncHTTPXTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _SyncStream:
    """The body of an httpr StreamingResponse as httpx's `SyncByteStream`."""

    def __init__(self, response: Any, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._response.iter_bytes()
        except _HTTPError as exc:
            raise httpx_error(exc, self._request) from exc

    def close(self) -> None:
        self._response.close()


class _AsyncStream:
    """The body of an httpr AsyncStreamingResponse as httpx's `AsyncByteStream`."""

    def __init__(self, opened: Any, response: Any, request: httpx.Request) -> None:
        self._opened = opened
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_bytes():
                yield chunk
        except _HTTPError as exc:
            raise httpx_error(exc, self._request) from exc

    async def aclose(self) -> None:
        await self._opened.__aexit__(None, None, None)


_MIXED: dict[tuple[type, ...], Any] = {}


def _mixed(cls: type, *bases: type) -> Any:
    """`cls` with httpx's bases mixed in (so `isinstance(t, httpx.BaseTransport)` holds),
    made once per combination: httpx is only known once it was imported."""
    bases = tuple(b for b in bases if not issubclass(cls, b))
    if not bases:
        return cls
    key = (cls, *bases)
    if key not in _MIXED:
        _MIXED[key] = type(cls.__name__, (cls, *bases), {"__module__": cls.__module__, "__qualname__": cls.__qualname__})
    return _MIXED[key]
