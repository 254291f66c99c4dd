"""Start a loopback HTTP server and make real requests to it with httpr.

    python examples/demo.py

The server runs in a thread on 127.0.0.1 (a free port), so the demo needs no network.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpr


class EchoHandler(BaseHTTPRequestHandler):
    """Answers every request with a JSON description of what it received."""

    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        payload = {"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "visited=yes; Path=/")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _reply

    def log_message(self, *args: Any) -> None:  # keep the demo's output readable
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    print(f"httpr {httpr.__version__}: local server at {base}")

    r = httpr.get(f"{base}/hello", params={"page": 1, "q": "fast"})
    print(f"GET  {r.url} -> {r.status_code} {r.reason_phrase}; server saw path {r.json()['path']}")

    with httpr.Client(headers={"User-Agent": "httpr-demo"}, auth_bearer="token") as client:
        r = client.post(f"{base}/items", json={"name": "httpr", "fast": True})
        seen = r.json()
        print(f"POST -> {r.status_code}; body {seen['body']}; auth {seen['headers'].get('authorization')}")
        print(f"cookies from the server: {r.cookies}")
        r = client.get(f"{base}/again")
        print(f"GET  again -> cookie sent back: {r.json()['headers'].get('cookie')}")

    try:
        httpr.get("http://127.0.0.1:1/")
    except httpr.ConnectError as e:
        print(f"refused port -> {type(e).__name__}: {e}")
    server.shutdown()


if __name__ == "__main__":
    main()
