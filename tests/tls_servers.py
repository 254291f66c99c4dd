"""Servers and certificates for the TLS, mTLS, HTTP/2 and proxy tests.

* :func:`make_certs` writes a throw-away PKI made with ``trustme``: a CA, a server certificate
  for ``127.0.0.1`` and ``localhost``, a client certificate (mTLS), and the same from an unrelated
  CA, plus a few malformed client identities.
* :class:`EchoServer` is a threaded HTTP/1.1 server on 127.0.0.1, plain or TLS (optionally
  requiring a client certificate). ``/echo...`` answers with JSON describing what it received,
  including the subject of the client certificate; every request and every failed TLS handshake
  is recorded.
* :class:`Hypercorn` runs ``hypercorn`` in a subprocess serving :func:`asgi_app` (HTTP/2 over TLS
  with ALPN, or cleartext with h2c prior knowledge). The app echoes ``scope["http_version"]``.
* :class:`PProxy` runs ``pproxy`` in a subprocess (HTTP, HTTPS or SOCKS5 proxy, optionally with
  credentials) and keeps its verbose log, in which it prints one line per tunnel it opens, e.g.
  ``http 127.0.0.1:50312 -> 127.0.0.1:40123``.
* :class:`HttpProxy` is a small threaded HTTP proxy of our own (absolute-form and CONNECT), used
  for HTTP proxies with Basic auth: pproxy matches ``Proxy-Authorization`` case-sensitively and so
  rejects the lowercase header that hyper sends, whatever the password.

Both proxies expose ``url()``, ``tunnels()`` (destinations, ``host:port``, of the connections the
proxy opened for its clients) and ``wait_for_tunnel()``.

Everything listens on 127.0.0.1 on a port the OS picks; nothing reaches the internet.
"""

from __future__ import annotations

import base64
import http.server
import json
import os
import re
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import servers

TESTS_DIR = Path(__file__).resolve().parent

#: Common name of the good client certificate (issued by the trusted CA).
CLIENT_CN = "httpr-mtls-client"
#: Common name of the client certificate issued by the unrelated CA.
OTHER_CLIENT_CN = "httpr-rogue-client"

# ---------------------------------------------------------------------------------------------
# certificates
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certs:
    """Paths (as ``str``, ready for httpr) and bytes of a test PKI."""

    directory: Path
    ca_pem: str
    """The trusted CA certificate (PEM)."""
    server_cert: str
    """Server certificate chain for 127.0.0.1 and localhost (PEM)."""
    server_key: str
    """The server's private key (PEM)."""
    client_pem: str
    """Client certificate and key in one PEM file (issued by the trusted CA)."""
    client_pem_data: bytes
    """The same, as bytes."""
    other_ca_pem: str
    """An unrelated CA certificate (PEM): trusting it instead of ``ca_pem`` must fail."""
    other_client_pem_data: bytes
    """A client certificate and key issued by the unrelated CA."""
    other_server_cert: str
    """A server certificate chain for 127.0.0.1 and localhost issued by the unrelated CA (used by
    the HTTPS proxy, so that trusting one CA or the other tells proxy and target apart)."""
    other_server_key: str
    both_ca_pem: str
    """A bundle with both CA certificates."""
    garbage_pem: str
    """A file that is not PEM at all."""
    bad_client_identities: dict[str, bytes] = field(default_factory=dict)
    """Malformed ``client_pem_data`` values by name: junk, cert only, key only, encrypted key,
    key that does not match the certificate."""

    def server_context(
        self, *, require_client_cert: bool = False, alpn: list[str] | None = None
    ) -> ssl.SSLContext:
        """A server-side context with the server certificate; optionally requiring a client
        certificate issued by the trusted CA, and offering the ``alpn`` protocols."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.server_cert, self.server_key)
        if alpn is not None:
            ctx.set_alpn_protocols(alpn)
        if require_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cafile=self.ca_pem)
        return ctx


def make_certs(directory: Path) -> Certs:
    """Create a CA, server and client certificates with trustme and write them to ``directory``."""
    import trustme
    from cryptography.hazmat.primitives import serialization

    ca = trustme.CA()
    other_ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("client.httpr.test", common_name=CLIENT_CN)
    other_client = other_ca.issue_cert("client.httpr.test", common_name=OTHER_CLIENT_CN)
    other_server = other_ca.issue_cert("127.0.0.1", "localhost")
    # a second client cert from the trusted CA, whose key we pair with the first one's cert
    unrelated = ca.issue_cert("unrelated.httpr.test", common_name="unrelated")

    def write(name: str, data: bytes) -> str:
        path = directory / name
        path.write_bytes(data)
        return str(path)

    ca_pem = write("ca.pem", ca.cert_pem.bytes())
    server_cert = write("server-chain.pem", b"".join(b.bytes() for b in server.cert_chain_pems))
    server_key = write("server-key.pem", server.private_key_pem.bytes())
    client_data = client.private_key_and_cert_chain_pem.bytes()
    client_pem = write("client.pem", client_data)
    other_ca_pem = write("other-ca.pem", other_ca.cert_pem.bytes())
    other_server_cert = write(
        "other-server-chain.pem", b"".join(b.bytes() for b in other_server.cert_chain_pems)
    )
    other_server_key = write("other-server-key.pem", other_server.private_key_pem.bytes())
    both_ca_pem = write("both-ca.pem", ca.cert_pem.bytes() + other_ca.cert_pem.bytes())
    garbage_pem = write("garbage.pem", b"this is not a certificate\n\x00\x01\x02 at all\n")

    client_cert_only = b"".join(b.bytes() for b in client.cert_chain_pems)
    client_key_only = client.private_key_pem.bytes()
    key = serialization.load_pem_private_key(client_key_only, password=None)
    encrypted_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret-passphrase"),
    )
    bad = {
        "junk": b"junk",
        "cert-only": client_cert_only,
        "key-only": client_key_only,
        "encrypted-key": encrypted_key + client_cert_only,
        "mismatched-key": unrelated.private_key_pem.bytes() + client_cert_only,
    }
    return Certs(
        directory=directory,
        ca_pem=ca_pem,
        server_cert=server_cert,
        server_key=server_key,
        client_pem=client_pem,
        client_pem_data=client_data,
        other_ca_pem=other_ca_pem,
        other_client_pem_data=other_client.private_key_and_cert_chain_pem.bytes(),
        other_server_cert=other_server_cert,
        other_server_key=other_server_key,
        both_ca_pem=both_ca_pem,
        garbage_pem=garbage_pem,
        bad_client_identities=bad,
    )


# ---------------------------------------------------------------------------------------------
# threaded echo server (plain or TLS)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One request as the echo server received it."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    client_port: int
    tls_version: str | None
    client_cert_cn: str | None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def _common_name(peer_cert: dict[str, Any] | None) -> str | None:
    if not peer_cert:
        return None
    for rdn in peer_cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


class _EchoHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, ssl_context: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.ssl_context = ssl_context
        self.lock = threading.Lock()
        self.seen: list[Seen] = []
        self.handshake_errors: list[str] = []
        self.connections = 0

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, in the connection's own thread, so a client that stalls
        # or fails the handshake cannot block the accept loop.
        with self.lock:
            self.connections += 1
        sock: socket.socket = request
        sock.settimeout(10)
        if self.ssl_context is None:
            _EchoHandler(sock, client_address, self)
            return
        try:
            tls_sock = self.ssl_context.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            with self.lock:
                self.handshake_errors.append(f"{type(exc).__name__}: {exc}")
            return
        try:
            _EchoHandler(tls_sock, client_address, self)
        finally:
            try:
                tls_sock.close()
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that goes away mid-request is not the test's business


class _EchoHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _EchoHTTPServer
    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        conn = self.connection
        tls_version: str | None = None
        client_cn: str | None = None
        if isinstance(conn, ssl.SSLSocket):
            tls_version = conn.version()
            client_cn = _common_name(conn.getpeercert())
        seen = Seen(
            method=self.command,
            path=self.path,
            headers=list(self.headers.items()),
            body=body,
            client_port=self.client_address[1],
            tls_version=tls_version,
            client_cert_cn=client_cn,
        )
        with self.server.lock:
            self.server.seen.append(seen)
        payload = {
            "method": seen.method,
            "path": seen.path,
            "headers": [[k, v] for k, v in seen.headers],
            "body": body.decode("latin-1"),
            "tls_version": tls_version,
            "client_cert_cn": client_cn,
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class EchoServer(servers.Closes):
    """A threaded HTTP/1.1 echo server on 127.0.0.1; TLS when given an ``ssl_context``."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._server = _EchoHTTPServer(ssl_context)
        self.port: int = self._server.server_address[1]
        self.scheme = "https" if ssl_context is not None else "http"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, path: str = "/echo", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def seen(self, path: str | None = None) -> list[Seen]:
        """The requests received so far (for ``path`` only, when given)."""
        with self._server.lock:
            return [s for s in self._server.seen if path is None or s.path == path]

    @property
    def handshake_errors(self) -> list[str]:
        with self._server.lock:
            return list(self._server.handshake_errors)

    @property
    def connections(self) -> int:
        with self._server.lock:
            return self._server.connections

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)



# ---------------------------------------------------------------------------------------------
# subprocess helpers
# ---------------------------------------------------------------------------------------------


class _LogReader:
    """Collects a subprocess's combined output line by line in a daemon thread."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self._proc = proc
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            with self._cond:
                self._lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def lines(self) -> list[str]:
        with self._cond:
            return list(self._lines)

    def wait_for(self, pattern: str, timeout: float, start: int = 0) -> re.Match[str]:
        """The first match of ``pattern`` in a line at index >= ``start``, waiting for it."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self._lines[start:]:
                    match = regex.search(line)
                    if match:
                        return match
                remaining = deadline - time.monotonic()
                exited = self._proc.poll() is not None and not self._thread.is_alive()
                if remaining <= 0 or exited:
                    raise RuntimeError(
                        f"no line matching {pattern!r} within {timeout}s; output so far:\n"
                        + "\n".join(self._lines)
                    )
                self._cond.wait(min(remaining, 0.1))


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if proc.stdout is not None:
        proc.stdout.close()


# ---------------------------------------------------------------------------------------------
# hypercorn (HTTP/2)
# ---------------------------------------------------------------------------------------------

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def asgi_app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """Echo what was received, including the HTTP version the server spoke."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    assert scope["type"] == "http"
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    payload = {
        "http_version": scope["http_version"],
        "method": scope["method"],
        "path": scope["path"],
        "scheme": scope["scheme"],
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
        "body": body.decode("latin-1"),
    }
    data = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class Hypercorn(servers.Closes):
    """``hypercorn tls_servers:asgi_app`` in a subprocess, on a socket bound here (port 0)."""

    def __init__(self, certs: Certs | None) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port: int = self._sock.getsockname()[1]
        self.scheme = "https" if certs is not None else "http"
        fd = self._sock.fileno()
        cmd = [sys.executable, "-u", "-m", "hypercorn", "--bind", f"fd://{fd}"]
        cmd += ["--access-logfile", "-", "--error-logfile", "-", "--log-level", "info"]
        if certs is not None:
            cmd += ["--certfile", certs.server_cert, "--keyfile", certs.server_key]
        cmd.append("tls_servers:asgi_app")
        env = dict(os.environ)
        env["PYTHONPATH"] = str(TESTS_DIR) + os.pathsep + env.get("PYTHONPATH", "")
        self._proc = subprocess.Popen(
            cmd,
            pass_fds=(fd,),
            cwd=TESTS_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.log = _LogReader(self._proc)
        try:
            self.log.wait_for(r"Running on", timeout=20)
        except BaseException:
            self.close()
            raise

    def url(self, path: str = "/echo", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def close(self) -> None:
        _stop(self._proc)
        self._sock.close()



# ---------------------------------------------------------------------------------------------
# a small HTTP proxy of our own (for Basic auth)
# ---------------------------------------------------------------------------------------------


class _ProxyTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: HttpProxy) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.owner = owner

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (dst,):
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass


class _ProxyHandler(socketserver.BaseRequestHandler):
    server: _ProxyTCPServer
    request: socket.socket

    def _read_head(self, sock: socket.socket) -> tuple[bytes, bytes] | None:
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            buf += chunk
            if len(buf) > 1 << 20:
                return None
        head, _, rest = buf.partition(b"\r\n\r\n")
        return head, rest

    def handle(self) -> None:
        owner = self.server.owner
        client = self.request
        client.settimeout(10)
        parsed = self._read_head(client)
        if parsed is None:
            return
        head, rest = parsed
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        headers = [tuple(h.split(":", 1)) for h in header_lines if ":" in h]
        pairs = [(k.strip(), v.strip()) for k, v in headers]
        given = next((v for k, v in pairs if k.lower() == "proxy-authorization"), None)
        with owner.lock:
            owner.auth_headers.append(given)
        if owner.auth is not None:
            expected = "Basic " + base64.b64encode(
                f"{owner.auth[0]}:{owner.auth[1]}".encode()
            ).decode()
            if given != expected:
                with owner.lock:
                    owner.rejected += 1
                client.sendall(
                    f"{version} 407 Proxy Authentication Required\r\n"
                    'Proxy-Authenticate: Basic realm="httpr-test"\r\n'
                    "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
                )
                return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            destination = f"{host}:{port}"
        else:
            url = urllib.parse.urlsplit(target)
            host = url.hostname or ""
            port = str(url.port or 80)
            destination = f"{host}:{port}"
        with owner.lock:
            owner.destinations.append(destination)
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except OSError:
            client.sendall(f"{version} 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n".encode())
            return
        with upstream:
            if method == "CONNECT":
                client.sendall(f"{version} 200 Connection established\r\n\r\n".encode())
                if rest:
                    upstream.sendall(rest)
                back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
                back.start()
                _pipe(client, upstream)
                back.join(timeout=10)
                return
            # Plain HTTP: forward this one request in origin form without the Proxy-* headers,
            # and close both sides after the response ("Connection: close" both ways).
            url = urllib.parse.urlsplit(target)
            path = urllib.parse.urlunsplit(("", "", url.path or "/", url.query, ""))
            kept = [
                f"{k}: {v}"
                for k, v in pairs
                if not k.lower().startswith("proxy-") and k.lower() != "connection"
            ]
            length = int(next((v for k, v in pairs if k.lower() == "content-length"), "0"))
            while len(rest) < length:
                chunk = client.recv(65536)
                if not chunk:
                    break
                rest += chunk
            upstream.sendall(
                (f"{method} {path} {version}\r\n" + "\r\n".join(kept)).encode("latin-1")
                + b"\r\nConnection: close\r\n\r\n"
                + rest
            )
            response = self._read_head(upstream)
            if response is None:
                return
            resp_head, resp_rest = response
            resp_lines = [
                line
                for line in resp_head.split(b"\r\n")
                if not line.lower().startswith(b"connection:")
            ]
            client.sendall(b"\r\n".join(resp_lines) + b"\r\nConnection: close\r\n\r\n" + resp_rest)
            _pipe(upstream, client)


class HttpProxy(servers.Closes):
    """A threaded HTTP proxy (absolute-form requests and CONNECT) on 127.0.0.1.

    pproxy compares ``Proxy-Authorization`` case-sensitively and so rejects the lowercase header
    that hyper (and so httpr) sends; this proxy checks Basic credentials properly and records the
    ``Proxy-Authorization`` value of every request and the destination of every tunnel.
    """

    kind = "http"

    def __init__(self, auth: tuple[str, str] | None = None) -> None:
        self.auth = auth
        self.lock = threading.Lock()
        self.destinations: list[str] = []
        self.auth_headers: list[str | None] = []
        self.rejected = 0
        self._server = _ProxyTCPServer(self)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def url(self, scheme: str | None = None, auth: tuple[str, str] | None = None) -> str:
        return _proxy_url(scheme or self.kind, self.port, auth if auth is not None else self.auth)

    def tunnels(self) -> list[str]:
        with self.lock:
            return list(self.destinations)

    def wait_for_tunnel(self, destination: str, timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while destination not in self.tunnels():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the proxy opened no tunnel to {destination}: {self.tunnels()}"
                )
            time.sleep(0.02)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)



def _proxy_url(scheme: str, port: int, creds: tuple[str, str] | None) -> str:
    userinfo = ""
    if creds is not None:
        quote = urllib.parse.quote
        userinfo = f"{quote(creds[0], safe='')}:{quote(creds[1], safe='')}@"
    return f"{scheme}://{userinfo}127.0.0.1:{port}"


# ---------------------------------------------------------------------------------------------
# pproxy (HTTP / HTTPS / SOCKS5 proxy)
# ---------------------------------------------------------------------------------------------


#: ``python -m pproxy``, except that pproxy gets a plain asyncio event loop: it would switch to
#: uvloop when installed, and then fail (uvloop's get_event_loop() wants a running loop).
_PPROXY_MAIN = (
    "import sys, asyncio; sys.modules['uvloop'] = None; "
    "asyncio.set_event_loop(asyncio.new_event_loop()); "
    "from pproxy.server import main; main()"
)


class PProxy(servers.Closes):
    """A ``pproxy`` subprocess listening on 127.0.0.1 (port chosen by the OS).

    ``kind`` is ``"http"``, ``"socks5"`` or ``"https"`` (an HTTP proxy spoken to over TLS, with
    the server certificate ``certs`` issued by the *unrelated* CA). ``auth`` is
    ``(user, password)`` or None. Every connection re-authenticates (``--auth 0``): by default
    pproxy trusts an IP for 30 days after one good login, which would hide a wrong password.
    Use :class:`HttpProxy` for an HTTP proxy with credentials (see the module docstring); SOCKS5
    credentials work with pproxy.
    """

    def __init__(
        self, kind: str, auth: tuple[str, str] | None = None, certs: Certs | None = None
    ) -> None:
        self.kind = kind
        self.auth = auth
        listen_scheme = {"http": "http", "socks5": "socks5", "https": "http+ssl"}[kind]
        listen = f"{listen_scheme}://127.0.0.1:0"
        if auth is not None:
            listen += f"#{auth[0]}:{auth[1]}"
        cmd = [sys.executable, "-u", "-c", _PPROXY_MAIN, "-l", listen, "-v", "--auth", "0"]
        if kind == "https":
            assert certs is not None, "an https proxy needs certificates"
            cmd += ["--ssl", f"{certs.other_server_cert},{certs.other_server_key}"]
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.log = _LogReader(self._proc)
        try:
            match = self.log.wait_for(r"Serving on \S+ 127\.0\.0\.1:(\d+)", timeout=20)
        except BaseException:
            self.close()
            raise
        self.port = int(match.group(1))

    def url(self, scheme: str | None = None, auth: tuple[str, str] | None = None) -> str:
        """The proxy URL for httpr; ``auth`` defaults to the proxy's own credentials."""
        return _proxy_url(scheme or self.kind, self.port, auth if auth is not None else self.auth)

    def tunnels(self) -> list[str]:
        """Destinations (``host:port``) of the tunnels the proxy opened so far, in order."""
        out = []
        for line in self.log.lines:
            match = re.search(r" -> (\S+:\d+)\s*$", line)
            if match:
                out.append(match.group(1))
        return out

    def wait_for_tunnel(self, destination: str, timeout: float = 5) -> None:
        """Wait until the log shows a tunnel to ``destination`` (it is printed asynchronously)."""
        try:
            self.log.wait_for(r" -> " + re.escape(destination) + r"\s*$", timeout=timeout)
        except RuntimeError as exc:
            raise AssertionError(f"the proxy opened no tunnel to {destination}") from exc

    def close(self) -> None:
        _stop(self._proc)

