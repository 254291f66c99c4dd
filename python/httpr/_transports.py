"""In-process transports: send requests straight to a WSGI or ASGI app, without a server.

This is how Flask, Django, FastAPI and Starlette apps are tested: the app sees the environ or
scope a real server would build from the request, and its answer becomes an `httpr.Response`.
"""

from __future__ import annotations

import asyncio
import io
import sys
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import SplitResult, unquote, unquote_to_bytes, urlsplit

from ._httpr import AsyncClient, Client, Limits, Response, Retry, Timeout

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import WSGIApplication
    from typing_extensions import Self

    from ._httpr import Request

__all__ = ["ASGITransport", "AsyncBaseTransport", "AsyncHTTPTransport", "BaseTransport", "HTTPTransport", "WSGITransport"]

# ASGI 3 callables (the spec's types; Starlette and FastAPI use the same shapes).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BaseTransport:
    """Base class of a custom sync transport: override `handle_request`.

    Usable as a context manager, which calls `close()` on exit.
    """

    def handle_request(self, request: Request) -> Response:
        """Answer one request (its body is in `request.content`)."""
        raise NotImplementedError(f"{type(self).__name__} must implement handle_request(request) -> httpr.Response")

    def close(self) -> None:
        """Release what the transport holds. The default does nothing."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncBaseTransport:
    """Base class of a custom async transport: override `handle_async_request`.

    Usable as an async context manager, which awaits `aclose()` on exit.
    """

    async def handle_async_request(self, request: Request) -> Response:
        """Answer one request (its body is in `request.content`)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement async handle_async_request(request) -> httpr.Response"
        )

    async def aclose(self) -> None:
        """Release what the transport holds. The default does nothing."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


# Framing headers the inner client sets itself from the body it sends.
_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})


def network_settings(
    verify: Any, cert: Any, trust_env: bool, http1: bool, http2: bool, limits: Limits | None, proxy: str | None, retries: int
) -> dict[str, Any]:
    """httpx's transport arguments as the settings of the httpr client that sends for it."""
    settings: dict[str, Any] = {
        "verify": verify,
        "cert": cert,
        "trust_env": trust_env,
        "http1": http1,
        "http2": http2,
        "proxy": proxy,
        # httpx retries connection failures only (ConnectError, ConnectTimeout).
        "retries": Retry(total=retries, status_forcelist=[], allowed_methods=[]) if retries else None,
        "follow_redirects": False,  # the outer client's job, as with httpx transports
        "cookie_store": False,
    }
    if limits is not None:
        settings["limits"] = limits
    return settings


class NetworkTransport:
    """What httpx's network transports share: the `HTTPTransport(...)` arguments, and an httpr
    client (`client_class`) with those settings that sends one request per call.
    `uds`, `local_address` and `socket_options` are not supported (NotImplementedError)."""

    client_class: Any = Client

    def __init__(
        self,
        verify: Any = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: Limits | None = None,
        proxy: str | None = None,
        uds: str | None = None,
        local_address: str | None = None,
        retries: int = 0,
        socket_options: Any = None,
    ) -> None:
        for name, value in (("uds", uds), ("local_address", local_address), ("socket_options", socket_options)):
            if value is not None:
                raise NotImplementedError(f"{type(self).__name__}({name}=...) is not supported by httpr")
        self._client = self.client_class(**network_settings(verify, cert, trust_env, http1, http2, limits, proxy, retries))


def _request_args(request: Request) -> dict[str, Any]:
    headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in _FRAMING]
    content = request.content
    t = request.extensions.get("timeout")
    # The sending client's timeouts (httpx passes them the same way); 30 s without them.
    timeout: Any = Timeout(connect=t["connect"], read=t["read"], write=t["write"], pool=t["pool"]) if t else 30
    return {"headers": headers, "content": content if content else None, "timeout": timeout}


class HTTPTransport(NetworkTransport, BaseTransport):
    """httpx's network transport: `transport=httpr.HTTPTransport(retries=3, proxy=...)` or a
    value in `mounts=`. Each one keeps its own connection pool with these settings (TLS,
    proxy, HTTP versions, limits, connect retries) and sends exactly one request per call:
    redirects, cookies and auth stay with the client that uses it."""

    def handle_request(self, request: Request) -> Response:
        """Send the request over the network and return the whole response."""
        return self._client.request(request.method, str(request.url), **_request_args(request))  # type: ignore[no-any-return]

    def close(self) -> None:
        self._client.close()


class AsyncHTTPTransport(NetworkTransport, AsyncBaseTransport):
    """The AsyncClient flavour of `HTTPTransport` (same arguments)."""

    client_class = AsyncClient

    async def handle_async_request(self, request: Request) -> Response:
        """Send the request over the network and return the whole response."""
        return await self._client.request(request.method, str(request.url), **_request_args(request))  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        await self._client.aclose()


def _url(request: Request) -> tuple[SplitResult, str, int]:
    """The request URL's parts, scheme and port (the scheme's default when the URL has none)."""
    parts = urlsplit(request.url)
    scheme = parts.scheme or "http"
    return parts, scheme, parts.port or (443 if scheme == "https" else 80)


def _latin1(value: str) -> bytes:
    """A header value as wire bytes: latin-1 where it fits (HTTP's historic charset), else UTF-8."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


class WSGITransport(BaseTransport):
    """Sends each request to a WSGI (PEP 3333) app, such as Flask or Django, in process.

    `script_name` is the app's mount point (`SCRIPT_NAME`; `PATH_INFO` is the whole URL path,
    as in httpx); `remote_addr` the client address the app sees; `wsgi_errors` its
    `wsgi.errors` stream (default `sys.stderr`). An exception raised by the app propagates;
    with `raise_app_exceptions=False` it is written to `wsgi.errors` and the response is a 500.
    """

    def __init__(
        self,
        app: WSGIApplication,
        raise_app_exceptions: bool = True,
        script_name: str = "",
        remote_addr: str = "127.0.0.1",
        wsgi_errors: TextIO | None = None,
    ) -> None:
        self.app = app
        self.raise_app_exceptions = raise_app_exceptions
        self.script_name = script_name
        self.remote_addr = remote_addr
        self.wsgi_errors = wsgi_errors

    def handle_request(self, request: Request) -> Response:
        """Call the app with the request's environ and return its (fully read) response."""
        environ = self._environ(request)
        started: tuple[str, list[tuple[str, str]]] | None = None
        reported: list[BaseException] = []
        body: list[bytes] = []
        headers_sent = False

        def write(data: bytes) -> None:
            nonlocal headers_sent
            headers_sent = True
            body.append(data)

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            nonlocal started
            if exc_info is not None and exc_info[1] is not None:
                # PEP 3333: an error after the headers went out cannot change them; re-raise.
                if headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
                reported.append(exc_info[1])
            elif started is not None:
                raise RuntimeError("the WSGI app called start_response twice without exc_info")
            started = (status, list(headers))
            return write

        try:
            result = self.app(environ, start_response)
            try:
                for chunk in result:
                    if chunk:
                        headers_sent = True
                        body.append(chunk)
            finally:
                # PEP 3333: close() must be called however the iteration ended.
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            if started is None:
                raise RuntimeError("the WSGI app returned without calling start_response")
        except Exception as exc:
            if self.raise_app_exceptions:
                raise
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=environ["wsgi.errors"])
            return Response(500)

        # The app caught an error and reported it (exc_info) along with its error page.
        if reported and self.raise_app_exceptions:
            raise reported[-1]
        status, headers = started
        return Response(int(status.split(" ", 1)[0]), headers=headers, content=b"".join(body))

    def _environ(self, request: Request) -> dict[str, Any]:
        parts, scheme, port = _url(request)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": self.script_name,
            # PEP 3333: the decoded path's bytes, as latin-1 (the app re-decodes them as it likes).
            "PATH_INFO": unquote_to_bytes(parts.path or "/").decode("latin-1"),
            "QUERY_STRING": parts.query,
            "SERVER_NAME": parts.hostname or "localhost",
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": self.remote_addr,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scheme,
            "wsgi.input": io.BytesIO(request.content),
            "wsgi.input_terminated": True,
            "wsgi.errors": self.wsgi_errors if self.wsgi_errors is not None else sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in request.headers.multi_items():
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = f"HTTP_{key}"
            text = _latin1(value).decode("latin-1")
            if key in environ:
                # Repeated headers become one, as a CGI server joins them (cookies with "; ").
                environ[key] += ("; " if key == "HTTP_COOKIE" else ", ") + text
            else:
                environ[key] = text
        if request.content and "CONTENT_LENGTH" not in environ:
            environ["CONTENT_LENGTH"] = str(len(request.content))
        return environ


class ASGITransport(AsyncBaseTransport):
    """Sends each request to an ASGI 3 app, such as FastAPI or Starlette, in process (asyncio).

    `root_path` is the app's mount point (the scope's `root_path`); `client` the (host, port)
    the app sees as the peer. Lifespan events are not sent. An exception raised by the app
    propagates; with `raise_app_exceptions=False` the response is a 500 (or, when the app had
    already started its response, what it sent until then). An app that returns without
    starting a response gets a 500, as a server would send.
    """

    def __init__(
        self,
        app: ASGIApp,
        raise_app_exceptions: bool = True,
        root_path: str = "",
        client: tuple[str, int] = ("127.0.0.1", 123),
    ) -> None:
        self.app = app
        self.raise_app_exceptions = raise_app_exceptions
        self.root_path = root_path
        self.client = client

    async def handle_async_request(self, request: Request) -> Response:
        """Run the app on the request's http scope and return its (fully read) response."""
        parts, scheme, port = _url(request)
        path = parts.path or "/"
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": scheme,
            "path": unquote(path),
            "raw_path": path.encode("ascii", "replace"),
            "query_string": parts.query.encode("ascii", "replace"),
            "root_path": self.root_path,
            "headers": [(k.lower().encode("latin-1"), _latin1(v)) for k, v in request.headers.multi_items()],
            "server": (parts.hostname or "localhost", port),
            "client": self.client,
        }
        body_sent = False
        # Set once the response is complete: until then, a receive() waiting for the client to
        # disconnect (as Starlette's StreamingResponse does) must not return.
        done = asyncio.Event()
        status: int | None = None
        headers: list[tuple[str, str]] = []
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal body_sent
            if not body_sent:
                body_sent = True
                return {"type": "http.request", "body": request.content, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                if status is not None:
                    raise RuntimeError("the ASGI app sent http.response.start twice")
                status = int(message["status"])
                for k, v in message.get("headers", ()):
                    headers.append((bytes(k).decode("latin-1"), bytes(v).decode("latin-1")))
            elif message["type"] == "http.response.body":
                if status is None:
                    raise RuntimeError("the ASGI app sent http.response.body before http.response.start")
                if not done.is_set():
                    chunks.append(bytes(message.get("body", b"")))
                    if not message.get("more_body", False):
                        done.set()

        try:
            await self.app(scope, receive, send)
        except Exception:
            if self.raise_app_exceptions:
                raise
        finally:
            done.set()
        if status is None:
            return Response(500)
        return Response(status, headers=headers, content=b"".join(chunks))
