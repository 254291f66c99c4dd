"""httpr.AsyncClient: `async with` and awaited requests (run with asyncio.run, no plugin)."""

from __future__ import annotations

import asyncio
import base64
import json

import httpr
from servers import LocalServer


def test_async_client_get_and_post(local_server: LocalServer, echo_path: str) -> None:
    url = local_server.url(echo_path)

    async def main() -> tuple[httpr.Response, httpr.Response]:
        async with httpr.AsyncClient(timeout=10) as client:
            got = await client.get(url, params={"n": 1})
            posted = await client.post(url, json={"k": "v"})
        return got, posted

    got, posted = asyncio.run(main())

    assert isinstance(got, httpr.Response)
    assert isinstance(posted, httpr.Response)
    assert got.json()["query"] == "n=1"
    assert json.loads(base64.b64decode(posted.json()["body"])) == {"k": "v"}
    assert [(r.method, r.query) for r in local_server.received(echo_path)] == [("GET", "n=1"), ("POST", "")]


def test_async_client_concurrent_gets(local_server: LocalServer, echo_path: str) -> None:
    url = local_server.url(echo_path)

    async def main() -> list[int]:
        async with httpr.AsyncClient(timeout=10) as client:
            responses = await asyncio.gather(*(client.get(url, params={"i": i}) for i in range(5)))
        return [r.status_code for r in responses]

    assert asyncio.run(main()) == [200] * 5
    assert sorted(r.query for r in local_server.received(echo_path)) == [f"i={i}" for i in range(5)]
