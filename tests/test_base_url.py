"""``base_url``: relative request URLs resolve against it keeping its path prefix, as the server
on 127.0.0.1 sees them; absolute URLs (to 127.0.0.2 here) bypass it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import httpr
from production_servers import ProdServer
from stream_server import Mode, Twin, run_twin



@pytest.fixture(scope="module")
def other() -> Iterator[ProdServer]:
    with ProdServer("127.0.0.2") as server:
        yield server




def got(mode: Mode, base_url: str, url: str, **kwargs: Any) -> tuple[str, str, str]:
    """Request ``url`` through a client with ``base_url``; the (path, query) the server saw
    and the response URL."""

    async def scenario(t: Twin) -> httpr.Response:
        return await t.get(url, **kwargs)

    response = run_twin(mode, scenario, base_url=base_url, timeout=5)
    assert response.status_code == 200, response.text
    data = response.json()
    return data["path"], data["query"], response.url


@pytest.mark.parametrize(
    ("base", "url", "path", "query"),
    [
        ("/echo/{uid}/api/v1", "/users", "/echo/{uid}/api/v1/users", ""),
        ("/echo/{uid}/api/v1", "users", "/echo/{uid}/api/v1/users", ""),
        ("/echo/{uid}/api/v1/", "/users", "/echo/{uid}/api/v1/users", ""),
        ("/echo/{uid}/api/v1/", "users/7/items", "/echo/{uid}/api/v1/users/7/items", ""),
        ("/echo/{uid}/api/v1", "/users?page=2&sort=name", "/echo/{uid}/api/v1/users", "page=2&sort=name"),
        ("/echo/{uid}", "?only=query", "/echo/{uid}/", "only=query"),
    ],
)
def test_relative_paths_keep_the_base_path(
    mode: Mode, srv: ProdServer, uid: str, base: str, url: str, path: str, query: str
) -> None:
    seen_path, seen_query, final = got(mode, srv.url(base.format(uid=uid)), url)
    assert seen_path == path.format(uid=uid)
    assert seen_query == query
    assert final == srv.url(path.format(uid=uid)) + (f"?{query}" if query else "")


def test_params_are_added_to_the_resolved_url(mode: Mode, srv: ProdServer, uid: str) -> None:
    path, query, _ = got(mode, srv.url(f"/echo/{uid}/v2"), "/search?q=a", params={"page": 3})
    assert path == f"/echo/{uid}/v2/search"
    assert query == "q=a&page=3"


def test_empty_url_is_the_base_itself(mode: Mode, srv: ProdServer, uid: str) -> None:
    path, query, _ = got(mode, srv.url(f"/echo/{uid}?k=1"), "")
    assert (path, query) == (f"/echo/{uid}/", "k=1")


def test_absolute_urls_bypass_the_base(mode: Mode, srv: ProdServer, other: ProdServer, uid: str) -> None:
    path, _, final = got(mode, srv.url("/echo/base"), other.url(f"/echo/{uid}/abs"))
    assert path == f"/echo/{uid}/abs"
    assert final == other.url(f"/echo/{uid}/abs")
    assert [s.path for s in other.seen(f"/echo/{uid}")] == [f"/echo/{uid}/abs"]
    assert srv.seen(f"/echo/base/echo/{uid}") == []


def test_base_url_applies_to_every_method_and_to_streams(mode: Mode, srv: ProdServer, uid: str) -> None:
    async def scenario(t: Twin) -> list[int]:
        statuses = [
            (await t.call("post", "/p", content=b"x")).status_code,
            (await t.call("put", "/u")).status_code,
            (await t.call("delete", "/d")).status_code,
        ]
        async with t.stream("GET", "/s") as response:
            statuses.append(response.status_code)
            await response.read()
        return statuses

    assert run_twin(mode, scenario, base_url=srv.url(f"/echo/{uid}")) == [200] * 4
    seen = {(s.method, s.path) for s in srv.seen(f"/echo/{uid}")}
    assert seen == {
        ("POST", f"/echo/{uid}/p"),
        ("PUT", f"/echo/{uid}/u"),
        ("DELETE", f"/echo/{uid}/d"),
        ("GET", f"/echo/{uid}/s"),
    }


def test_relative_redirect_from_a_base_url_request(mode: Mode, srv: ProdServer, uid: str) -> None:
    """A redirect's Location resolves against the request URL (RFC 3986), not the base."""
    path, _, final = got(mode, srv.url("/"), f"redirect?to=/echo/{uid}/landed")
    assert path == f"/echo/{uid}/landed"
    assert final == srv.url(f"/echo/{uid}/landed")


# -- the property ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [httpr.Client, httpr.AsyncClient])
def test_base_url_getter_and_setter(cls: type[httpr.Client] | type[httpr.AsyncClient]) -> None:
    client = cls(base_url="http://127.0.0.1:8000/api/v1")
    assert client.base_url == "http://127.0.0.1:8000/api/v1"
    assert cls().base_url is None
    client.base_url = "http://127.0.0.2:9000/v2/"
    assert client.base_url == "http://127.0.0.2:9000/v2/"
    client.base_url = None
    assert client.base_url is None


def test_setter_changes_where_requests_go(mode: Mode, srv: ProdServer, other: ProdServer, uid: str) -> None:
    async def scenario(t: Twin) -> None:
        await t.get("/one")
        t.client.base_url = other.url(f"/echo/{uid}/second")
        await t.get("/two")
        t.client.base_url = None
        with pytest.raises(httpr.InvalidURL):
            await t.get("/three")

    run_twin(mode, scenario, base_url=srv.url(f"/echo/{uid}/first"), timeout=5)
    assert [s.path for s in srv.seen(f"/echo/{uid}")] == [f"/echo/{uid}/first/one"]
    assert [s.path for s in other.seen(f"/echo/{uid}")] == [f"/echo/{uid}/second/two"]


# -- errors -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["not a url", "/relative/only", "http://", "://missing-scheme"])
@pytest.mark.parametrize("cls", [httpr.Client, httpr.AsyncClient])
def test_invalid_base_url(cls: type[httpr.Client] | type[httpr.AsyncClient], bad: str) -> None:
    with pytest.raises(httpr.InvalidURL) as info:
        cls(base_url=bad)
    assert "base_url" in str(info.value), str(info.value)
    client = cls(base_url="http://127.0.0.1:1/ok")
    with pytest.raises(httpr.InvalidURL):
        client.base_url = bad
    assert client.base_url == "http://127.0.0.1:1/ok", "a rejected value changes nothing"


def test_relative_url_without_base_url(mode: Mode, srv: ProdServer) -> None:
    async def scenario(t: Twin) -> httpr.Response:
        return await t.get("/users")

    with pytest.raises(httpr.InvalidURL) as info:
        run_twin(mode, scenario)
    assert "/users" in str(info.value), str(info.value)
    with pytest.raises(httpr.InvalidURL):
        httpr.get("/users")


@pytest.mark.parametrize("cls", [httpr.Client, httpr.AsyncClient])
def test_setter_rejects_a_non_http_base_like_the_constructor(
    cls: type[httpr.Client] | type[httpr.AsyncClient],
) -> None:
    """Regression: the setter raised UnsupportedProtocol where the constructor raised
    InvalidURL("invalid base_url: ...")."""
    bad = "ftp://127.0.0.1/files"
    with pytest.raises(httpr.InvalidURL) as from_constructor:
        cls(base_url=bad)
    client = cls()
    with pytest.raises(Exception) as from_setter:
        client.base_url = bad
    assert type(from_setter.value) is type(from_constructor.value), repr(from_setter.value)
    assert "base_url" in str(from_setter.value), str(from_setter.value)


def test_query_containing_a_url_stays_relative(mode: Mode, srv: ProdServer, uid: str) -> None:
    """Regression: '/login?next=http://h/' was taken for an absolute URL (it contains '://')
    and rejected with InvalidURL."""
    path, query, _ = got(mode, srv.url(f"/echo/{uid}"), "/login?next=http://127.0.0.2/home")
    assert path == f"/echo/{uid}/login"
    assert query == "next=http://127.0.0.2/home"


def test_hooks_see_the_resolved_url(mode: Mode, srv: ProdServer, uid: str) -> None:
    urls: list[str] = []

    async def scenario(t: Twin) -> httpr.Response:
        return await t.get("items?x=1")

    run_twin(
        mode,
        scenario,
        base_url=srv.url(f"/echo/{uid}/api"),
        event_hooks={"request": [lambda r: urls.append(r.url)]},
    )
    assert urls == [srv.url(f"/echo/{uid}/api/items?x=1")]
