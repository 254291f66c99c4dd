"""Pooled connections have TCP keepalive on (15 s idle, then probes), so a connection that a NAT
or firewall dropped while idle in the pool is noticed. Checked in the kernel's socket table."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import httpr
from servers import LocalServer

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/net/tcp")

KEEPALIVE_TIMER = "02"  # the `tr` field of /proc/net/tcp: 2 = keepalive timer running


def client_sockets(server_port: int) -> dict[str, str]:
    """Established IPv4 sockets whose remote end is 127.0.0.1:server_port (the client side):
    local address -> timer kind."""
    rows = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state, timer = fields[1], fields[2], fields[3], fields[5]
        if state == "01" and remote == f"0100007F:{server_port:04X}":
            rows[local] = timer.split(":")[0]
    return rows


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_pooled_connections_have_tcp_keepalive(local_server: LocalServer, echo_path: str, mode: str) -> None:
    url = local_server.url(echo_path)
    # Another test's client may still hold a socket to this server: look at new ones only.
    before = client_sockets(local_server.port)
    if mode == "sync":
        with httpr.Client() as client:
            assert client.get(url).status_code == 200
            sockets = client_sockets(local_server.port)
    else:
        import asyncio

        async def main() -> dict[str, str]:
            async with httpr.AsyncClient() as client:
                assert (await client.get(url)).status_code == 200
                return client_sockets(local_server.port)

        sockets = asyncio.run(main())

    new = {local: timer for local, timer in sockets.items() if local not in before}
    assert len(new) == 1, sockets
    assert list(new.values()) == [KEEPALIVE_TIMER], sockets
