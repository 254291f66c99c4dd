#!/usr/bin/env python3
"""Smoke test of an installed httpr (scripts/test-wheel.sh runs it after installing the sdist).

Checks that httpr is imported from the running venv's site-packages, then makes real requests
to a server on 127.0.0.1 (a GET with a query, a JSON POST through a Client, a refused port).
Exits non-zero on any mismatch.
"""

from __future__ import annotations

import json
import sys
import sysconfig
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpr


class Echo(BaseHTTPRequestHandler):
    def _reply(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        data = json.dumps({"method": self.command, "path": self.path, "body": self.rfile.read(length).decode()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _reply

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    site = Path(sysconfig.get_path("platlib")).resolve()
    origin = Path(httpr.__file__).resolve()
    assert origin.is_relative_to(site), f"httpr imported from {origin}, not from {site}"
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        r = httpr.get(f"{base}/hello", params={"q": "smoke"})
        assert r.status_code == 200 and r.json()["path"] == "/hello?q=smoke", r.text
        with httpr.Client() as client:
            r = client.post(f"{base}/items", json={"name": "httpr"})
            assert json.loads(r.json()["body"]) == {"name": "httpr"}, r.text
        try:
            httpr.get("http://127.0.0.1:1/")
        except httpr.ConnectError:
            pass
        else:
            raise AssertionError("a refused port did not raise ConnectError")
    finally:
        server.shutdown()
    print(f"smoke OK: httpr {httpr.__version__} from {origin.parent} on Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
