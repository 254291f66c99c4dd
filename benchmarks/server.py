"""The benchmark's server: the OS's nginx, configured and started by the harness on 127.0.0.1.

    python3 benchmarks/server.py start|stop|status

Everything lives under $HTTPR_BENCH_DIR (default /tmp/httpr-bench): ``www/`` (the files of
content.py), ``tls/`` (a CA and a server certificate for 127.0.0.1, made with openssl) and
``nginx/`` (the config, pid file, logs). nginx runs one worker, like a single server core, with
access logs off and keep-alive up to 100,000 requests. Listeners:

- HTTP_PORT: plain HTTP/1.1 (the sync, async, POST, stream and upload scenarios);
- HTTPS_PORT: TLS, HTTP/1.1 only, keep-alive (https_5k);
- HTTPS_NEW_PORT: TLS, HTTP/1.1, keep-alive off and no session cache or tickets, so every
  request pays a full handshake on a new connection (https_new_conn);
- H2_PORT: TLS with HTTP/2 (h2_5k).

POST /upload is passed to an internal listener only after nginx has read the whole body, which
answers with the byte count nginx received (``{"received":N}``): an upload cannot be counted
done before its last byte arrived. Standard library only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import content  # noqa: E402

BENCH_DIR = os.environ.get("HTTPR_BENCH_DIR", "/tmp/httpr-bench")
WWW = os.path.join(BENCH_DIR, "www")
TLS = os.path.join(BENCH_DIR, "tls")
NGINX = os.path.join(BENCH_DIR, "nginx")
CA = os.path.join(TLS, "ca.pem")
MANIFEST = os.path.join(WWW, "manifest.json")
UPLOAD_FILE = os.path.join(WWW, "upload")

# Ports away from the usual 8000/8080/8443 and from ../shared/bench's (18080/18443).
HTTP_PORT, UPSTREAM_PORT = 18280, 18281
HTTPS_PORT, HTTPS_NEW_PORT, H2_PORT = 18643, 18644, 18645
HTTP = f"http://127.0.0.1:{HTTP_PORT}"
HTTPS = f"https://127.0.0.1:{HTTPS_PORT}"
HTTPS_NEW = f"https://127.0.0.1:{HTTPS_NEW_PORT}"
H2 = f"https://127.0.0.1:{H2_PORT}"

_PID = os.path.join(NGINX, "nginx.pid")
_CONF = os.path.join(NGINX, "nginx.conf")

_ROUTES = """
        location = /5k   { }
        location = /50k  { }
        location = /200k { }
        location = /big  { }
        location /json/  {
            default_type application/json;
            # echoed so that a worker can check the request offered gzip
            add_header X-Req-AE $http_accept_encoding;
        }
        location = /echo {
            if ($request_method != POST) { return 405; }
            default_type application/json;
            return 200 '{"ok":true}';
        }
        location = /upload {
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Body-Len $content_length;
            proxy_pass http://127.0.0.1:%(upstream)d/counted;
        }
        location / { return 404; }
"""


def nginx_version() -> tuple[int, ...]:
    out = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr
    m = re.search(r"nginx/(\d+(?:\.\d+)*)", out)
    return tuple(int(x) for x in m.group(1).split(".")) if m else (0,)


def ensure_nginx() -> None:
    """Install nginx and openssl from the OS's packages when missing (Debian: apt-get)."""
    if shutil.which("nginx") and shutil.which("openssl"):
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print("[server] apt-get install nginx openssl", file=sys.stderr)
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True)
    subprocess.run([*sudo, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq",
                    "nginx", "openssl"], check=True)


def make_certs() -> None:
    """A P-256 CA and a server certificate for IP 127.0.0.1 signed by it (kept once made)."""
    if all(os.path.exists(os.path.join(TLS, f)) for f in ("ca.pem", "server.pem", "server.key")):
        return
    os.makedirs(TLS, exist_ok=True)

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=TLS, check=True, capture_output=True)

    with open(os.path.join(TLS, "server.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650", "-subj", "/CN=httpr bench CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    ssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "3650", "-sha256", "-extfile", "server.ext", "-out", "server.pem")


def config() -> str:
    routes = _ROUTES % {"upstream": UPSTREAM_PORT}
    tls = f"""
        ssl_certificate {TLS}/server.pem;
        ssl_certificate_key {TLS}/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        root {WWW};"""
    # `http2 on;` arrived in nginx 1.25.1; older ones (Debian 12 has 1.22) take it on `listen`.
    new_h2 = nginx_version() >= (1, 25, 1)
    h2_listen = f"listen 127.0.0.1:{H2_PORT} ssl{'' if new_h2 else ' http2'};" + (" http2 on;" if new_h2 else "")
    temp = "".join(f"    {k}_temp_path {NGINX}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""# written by benchmarks/server.py; rewritten on every start
worker_processes 1;
worker_rlimit_nofile 16384;
pid {_PID};
error_log {NGINX}/error.log warn;
events {{ worker_connections 8192; multi_accept on; }}
http {{
    access_log off;
{temp}    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 300s;
    keepalive_requests 100000;
    server_tokens off;
    etag off;
    open_file_cache max=64 inactive=600s;
    client_max_body_size 64m;
    client_body_buffer_size 16m;
    types {{ }}
    default_type application/octet-stream;
    gzip on;
    gzip_types application/json;
    gzip_min_length 256;
    gzip_comp_level 1;
    http2_max_concurrent_streams 1024;

    server {{
        listen 127.0.0.1:{HTTP_PORT} backlog=4096;
        root {WWW};
{routes}
    }}
    server {{
        listen 127.0.0.1:{HTTPS_PORT} ssl backlog=4096;
        ssl_session_cache shared:TLS:1m;{tls}
{routes}
    }}
    server {{
        listen 127.0.0.1:{HTTPS_NEW_PORT} ssl backlog=4096;
        keepalive_timeout 0;
        ssl_session_cache off;
        ssl_session_tickets off;{tls}
{routes}
    }}
    server {{
        {h2_listen}{tls}
{routes}
    }}
    server {{
        listen 127.0.0.1:{UPSTREAM_PORT};
        location = /counted {{
            default_type application/json;
            return 200 '{{"received":$http_x_body_len}}';
        }}
    }}
}}
"""


def running() -> bool:
    try:
        with open(_PID) as f:
            os.kill(int(f.read().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


def answering() -> bool:
    try:
        with urllib.request.urlopen(HTTP + "/5k", timeout=2) as r:
            return r.status == 200 and len(r.read()) == content.SIZES["5k"]
    except OSError:
        return False


def start() -> bool:
    """Make content and certificates, (re)write the config, start or reload nginx.
    -> True when this call started nginx (so the caller may stop it)."""
    ensure_nginx()
    content.write(WWW)
    make_certs()
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(NGINX, d), exist_ok=True)
    with open(_CONF, "w") as f:
        f.write(config())
    base = ["nginx", "-p", NGINX, "-c", _CONF, "-e", os.path.join(NGINX, "error.log")]
    if nginx_version() < (1, 19, 5):
        base = base[:5]  # no -e before 1.19.5
    subprocess.run([*base, "-t", "-q"], check=True)
    started = not running()
    subprocess.run(base if started else [*base, "-s", "reload"], check=True)
    for _ in range(100):
        if answering():
            return started
        time.sleep(0.05)
    raise RuntimeError(f"nginx does not answer on {HTTP}; see {NGINX}/error.log")


def stop() -> None:
    if not running():
        return
    with open(_PID) as f:
        pid = int(f.read().strip())
    subprocess.run(["nginx", "-p", NGINX, "-c", _CONF, "-s", "quit"], check=False, capture_output=True)
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.05)


def worker_pids() -> list[int]:
    """The nginx worker processes (children of the master), for pinning."""
    try:
        with open(_PID) as f:
            master = int(f.read().strip())
    except (OSError, ValueError):
        return []
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else ""
    if cmd == "start":
        start()
        print(f"[server] {HTTP}  {HTTPS}  {HTTPS_NEW} (new connection per request)  {H2} (h2); CA {CA}")
    elif cmd == "stop":
        stop()
    elif cmd == "status":
        print("running" if running() and answering() else "not running")
        return 0 if running() else 1
    else:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
