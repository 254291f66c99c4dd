"""Issue 20, streaming as requests and httpx code asks for it: requests' ``stream=True`` on a
request, httpx's ``client.send(request, stream=True)``, auth flows on streams, and
``text``/``json()`` on streamed responses. Against httpbin on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import httpr
import httpr as httpx
import httpr as requests


def test_requests_stream_true_iterates_the_body(httpbin: Any) -> None:
    # requests' "Body Content Workflow": stream=True, then iter_content.
    r = requests.get(httpbin.url + "/bytes/3000", params={"seed": 7}, stream=True)
    assert isinstance(r, httpr.StreamingResponse)
    assert r.status_code == 200 and not r.is_consumed
    pieces = list(r.iter_content(chunk_size=1024))
    assert [len(p) for p in pieces] == [1024, 1024, 952]
    assert r.is_consumed
    r.close()


def test_requests_stream_true_reads_on_first_use_of_content_text_json(httpbin: Any) -> None:
    with requests.Session() as s:
        with s.get(httpbin.url + "/get", params={"q": "tea"}, stream=True) as r:
            r.raise_for_status()
            assert r.json()["args"] == {"q": "tea"}
            assert r.text.startswith("{") and r.content == r.text.encode()
        r = s.post(httpbin.url + "/post", json={"a": 1}, stream=True)
        assert r.content.startswith(b"{") and r.json()["json"] == {"a": 1}
        r.close()
        lines = list(s.get(httpbin.url + "/stream/3", stream=True).iter_lines())
        assert len(lines) == 3 and all(line.startswith("{") for line in lines)


def test_requests_stream_true_on_module_functions_and_async(httpbin: Any) -> None:
    with requests.get(httpbin.url + "/get", stream=True) as r:
        assert r.json()["url"].endswith("/get")

    async def main() -> tuple[bytes, Any]:
        async with httpr.AsyncClient() as client:
            r = await client.get(httpbin.url + "/bytes/100", stream=True)
            assert isinstance(r, httpr.AsyncStreamingResponse)
            body = b"".join([c async for c in r.aiter_bytes()])
            await r.aclose()
            r2 = await client.get(httpbin.url + "/get", stream=True)
            data = r2.json()
            await r2.aclose()
            return body, data

    body, data = asyncio.run(main())
    assert len(body) == 100 and data["url"].endswith("/get")


def test_httpx_stream_needs_read_before_text_and_json(httpbin: Any) -> None:
    with httpx.Client() as client:
        with client.stream("GET", httpbin.url + "/get") as r:
            with pytest.raises(httpx.ResponseNotRead, match=r"call read\(\)"):
                r.text
            with pytest.raises(httpx.ResponseNotRead):
                r.json()
            r.read()
            assert r.json()["url"].endswith("/get") and r.text == r.content.decode()

    async def main() -> Any:
        async with httpx.AsyncClient() as client:
            async with client.stream("GET", httpbin.url + "/get") as r:
                with pytest.raises(httpx.ResponseNotRead):
                    r.json()
                await r.aread()
                return r.json()

    assert asyncio.run(main())["url"].endswith("/get")


def test_stream_json_errors_are_json_decode_errors(httpbin: Any) -> None:
    with httpx.stream("GET", httpbin.url + "/html") as r:
        r.read()
        with pytest.raises(httpx.JSONDecodeError):
            r.json()


def test_send_with_stream_true(httpbin: Any) -> None:
    # httpx's "Request instances" section: build_request, then send(stream=True).
    with httpx.Client() as client:
        request = client.build_request("GET", httpbin.url + "/stream-bytes/2000", params={"chunk_size": 300})
        response = client.send(request, stream=True)
        assert isinstance(response, httpx.StreamingResponse)
        try:
            assert sum(len(c) for c in response.iter_bytes()) == 2000
        finally:
            response.close()
        assert response.is_closed

    async def main() -> int:
        async with httpx.AsyncClient() as client:
            request = client.build_request("GET", httpbin.url + "/bytes/500")
            response = await client.send(request, stream=True)
            try:
                return len(await response.aread())
            finally:
                await response.aclose()

    assert asyncio.run(main()) == 500


def test_send_takes_auth_and_follow_redirects(httpbin: Any) -> None:
    with httpx.Client() as client:
        r = client.send(client.build_request("GET", httpbin.url + "/redirect/1"), follow_redirects=False)
        assert r.status_code == 302 and r.next_request is not None
        assert client.send(r.next_request).status_code == 200
        url = httpbin.url + "/digest-auth/auth/user/passwd/MD5"
        request = client.build_request("GET", url)
        assert client.send(request, auth=httpx.DigestAuth("user", "passwd")).status_code == 200
        assert client.send(request, auth=("user", "passwd")).status_code == 401  # Basic is not Digest
        basic = client.build_request("GET", httpbin.url + "/basic-auth/u/p")
        assert client.send(basic, auth=("u", "p")).json() == {"authenticated": True, "user": "u"}
    with httpx.Client(auth=httpx.DigestAuth("user", "passwd")) as client:
        # The client's flow applies to send(), as in httpx.
        assert client.send(client.build_request("GET", url)).status_code == 200


def test_auth_flows_run_on_streams(httpbin: Any) -> None:
    url = httpbin.url + "/digest-auth/auth/user/passwd/SHA-256"
    with httpx.Client(auth=httpx.DigestAuth("user", "passwd")) as client:
        with client.stream("GET", url) as r:
            assert r.status_code == 200
            assert b"".join(r.iter_bytes()).startswith(b"{")
        request = client.build_request("GET", url)
        r2 = client.send(request, stream=True)
        assert r2.status_code == 200
        r2.close()
    with httpx.stream("GET", url, auth=httpx.DigestAuth("user", "passwd")) as r:
        r.read()
        assert r.json() == {"authenticated": True, "user": "user"}

    async def main() -> list[int]:
        async with httpx.AsyncClient() as client:
            async with client.stream("GET", url, auth=httpx.DigestAuth("user", "passwd")) as r:
                await r.aread()
                first = r.status_code
            async with client.stream("GET", url, auth=httpx.DigestAuth("user", "wrong")) as r:
                second = r.status_code
            return [first, second]

    assert asyncio.run(main()) == [200, 401]


def test_stream_hooks_see_the_final_response_of_a_flow(httpbin: Any) -> None:
    seen: list[int] = []
    url = httpbin.url + "/digest-auth/auth/user/passwd/MD5"
    with httpx.Client(event_hooks={"response": [lambda r: seen.append(r.status_code)]}) as client:
        with client.stream("GET", url, auth=httpx.DigestAuth("user", "passwd")) as r:
            assert r.status_code == 200
    assert seen == [200]
