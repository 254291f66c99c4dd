"""How a client behaves across requests, asserted on what a real local server saw and on what the
client returned: mutable defaults (headers, cookies, auth, params, timeout, proxy), the cookie
store, credentials and redirects (two hosts: 127.0.0.1 and 127.0.0.2), timeouts, https_only,
text decoding, CBOR, HTML conversion, parameter encoding and the response's status helpers.

Scenarios that a client drives run with both clients (``mode`` = sync / async, through
:class:`stream_server.Twin`); what only depends on the response runs once.
"""

from __future__ import annotations

import datetime

import asyncio
import base64
import codecs
import math
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any, cast

import cbor2
import pytest

import httpr
from behaviour_servers import BehaviourServer, Seen
from stream_server import Mode, Twin, run_twin

# -- fixtures and helpers --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def srv() -> Iterator[BehaviourServer]:
    """The server most tests talk to, on 127.0.0.1."""
    with BehaviourServer("127.0.0.1") as server:
        yield server


@pytest.fixture(scope="module")
def other() -> Iterator[BehaviourServer]:
    """A second host, 127.0.0.2: a different site for cookies and credentials."""
    with BehaviourServer("127.0.0.2") as server:
        yield server


@pytest.fixture(scope="module")
def proxy_srv() -> Iterator[BehaviourServer]:
    """A server used as a plain HTTP proxy (it answers proxied requests itself)."""
    with BehaviourServer("127.0.0.1") as server:
        yield server




def basic(user: str, password: str | None) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password or ''}".encode()).decode()


def redirect_url(
    server: BehaviourServer, uid: str, to: str, *, status: int = 302, set_cookies: tuple[str, ...] = ()
) -> str:
    """A URL on ``server`` that answers with a ``status`` redirect to ``to``."""
    query = [("to", to), ("status", str(status))] + [("set", c) for c in set_cookies]
    return server.url(f"/redirect/{uid}?" + urllib.parse.urlencode(query))


def set_cookie_url(server: BehaviourServer, path: str, *set_cookies: str) -> str:
    """A URL on ``server`` whose response carries one Set-Cookie header per argument."""
    return server.url(f"/cookie{path}?" + urllib.parse.urlencode([("set", c) for c in set_cookies]))


def only(seen: list[Seen]) -> Seen:
    assert len(seen) == 1, f"expected exactly one request, the server saw {len(seen)}"
    return seen[0]


def cookie_pairs(seen: Seen) -> list[tuple[str, str]]:
    """The (name, value) pairs of the request's Cookie header; asserts there is at most one."""
    headers = seen.header_list("cookie")
    assert len(headers) <= 1, f"cookies must travel in ONE Cookie header, got {headers!r}"
    if not headers:
        return []
    pairs = [item.split("=", 1) for item in headers[0].split("; ")]
    return [(name, value) for name, value in pairs]


# ==================================================================================================
# Client defaults and mutable properties
# ==================================================================================================


def test_headers_property_is_live(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    async def scenario(t: Twin) -> None:
        client = t.client
        assert client.headers == {"x-default": "d"}, "lowercase names, and never the Cookie header"
        assert isinstance(client.headers, httpr.Headers)

        client.headers["X-Live"] = "1"  # in place, through the property
        live = client.headers  # the object itself is live too
        live["X-Via-Reference"] = "2"
        await t.get(srv.url(f"/echo/{uid}/1"))

        del client.headers["X-DEFAULT"]  # case-insensitive delete
        await t.get(srv.url(f"/echo/{uid}/2"))

        client.headers = {"X-Replaced": "r"}  # the setter replaces every default header
        assert client.headers == {"x-replaced": "r"}
        await t.get(srv.url(f"/echo/{uid}/3"))
        await t.get(srv.url(f"/echo/{uid}/4"), headers={"x-replaced": "per-request"})
        await t.get(srv.url(f"/echo/{uid}/5"))

    run_twin(mode, scenario, headers={"X-Default": "d"}, cookies={"session": "s"})

    first = only(srv.seen(f"/echo/{uid}/1"))
    assert (first.header("x-default"), first.header("x-live"), first.header("x-via-reference")) == ("d", "1", "2")
    second = only(srv.seen(f"/echo/{uid}/2"))
    assert second.header("x-default") is None and second.header("x-live") == "1"
    third = only(srv.seen(f"/echo/{uid}/3"))
    assert third.header("x-replaced") == "r"
    assert third.header("x-live") is None and third.header("x-via-reference") is None
    assert cookie_pairs(third) == [("session", "s")], "replacing the headers must not drop the cookies"
    assert only(srv.seen(f"/echo/{uid}/4")).header_list("x-replaced") == ["per-request"]
    assert only(srv.seen(f"/echo/{uid}/5")).header("x-replaced") == "r", "per-request headers leaked"


def test_set_header_and_del_header(srv: BehaviourServer, uid: str) -> None:
    with httpr.Client(headers={"X-Keep": "k", "X-Drop": "d"}) as client:
        client.set_header("X-Added", "a")
        client.set_header("x-keep", "k2")  # replaces, case-insensitively
        client.del_header("X-DROP")
        client.del_header("x-never-set")  # absent: no error
        assert client.headers == {"x-keep": "k2", "x-added": "a"}
        client.get(srv.url(f"/echo/{uid}"))

    seen = only(srv.seen(f"/echo/{uid}"))
    assert seen.header_list("x-keep") == ["k2"]
    assert seen.header("x-added") == "a"
    assert seen.header("x-drop") is None


def test_cookies_property_reads_replaces_and_clears(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    async def scenario(t: Twin) -> dict[str, dict[str, str]]:
        client = t.client
        states = {"initial": client.cookies}
        await t.get(set_cookie_url(srv, f"/{uid}", "stored=yes; Path=/"))
        states["after-set-cookie"] = client.cookies
        await t.get(srv.url(f"/echo/{uid}/both"))

        client.cookies = {"replaced": "1"}  # replaces the defaults AND the stored cookies
        states["replaced"] = client.cookies
        await t.get(srv.url(f"/echo/{uid}/replaced"))

        client.cookies = [("pair", "p")]
        await t.get(srv.url(f"/echo/{uid}/pairs"))

        client.cookies = {}
        states["cleared"] = client.cookies
        await t.get(srv.url(f"/echo/{uid}/cleared"))
        return states

    states = run_twin(mode, scenario, cookies={"initial": "i"})

    assert states == {
        "initial": {"initial": "i"},
        "after-set-cookie": {"initial": "i", "stored": "yes"},
        "replaced": {"replaced": "1"},
        "cleared": {},
    }
    assert sorted(cookie_pairs(only(srv.seen(f"/echo/{uid}/both")))) == [("initial", "i"), ("stored", "yes")]
    assert cookie_pairs(only(srv.seen(f"/echo/{uid}/replaced"))) == [("replaced", "1")]
    assert cookie_pairs(only(srv.seen(f"/echo/{uid}/pairs"))) == [("pair", "p")]
    assert only(srv.seen(f"/echo/{uid}/cleared")).header_list("cookie") == []


def test_auth_property(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    async def scenario(t: Twin) -> list[tuple[str, str | None] | None]:
        client = t.client
        read = [client.auth]
        await t.get(srv.url(f"/echo/{uid}/none"))
        client.auth = ("ada", "lovelace")
        read.append(client.auth)
        await t.get(srv.url(f"/echo/{uid}/basic"))
        await t.get(srv.url(f"/echo/{uid}/override"), auth=("other", "pw"))
        client.auth = ("api-key", None)
        read.append(client.auth)
        await t.get(srv.url(f"/echo/{uid}/no-password"))
        client.auth = None
        read.append(client.auth)
        await t.get(srv.url(f"/echo/{uid}/cleared"))
        return read

    assert run_twin(mode, scenario) == [None, ("ada", "lovelace"), ("api-key", None), None]

    def authorization(step: str) -> str | None:
        return only(srv.seen(f"/echo/{uid}/{step}")).header("authorization")

    assert authorization("none") is None
    assert authorization("basic") == basic("ada", "lovelace")
    assert authorization("override") == basic("other", "pw")
    assert authorization("no-password") == basic("api-key", None) == "Basic YXBpLWtleTo="
    assert authorization("cleared") is None


def test_params_property(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    async def scenario(t: Twin) -> list[dict[str, str | list[str]] | None]:
        client = t.client
        read = [client.params]
        client.params = {"page": 1, "dry_run": True, "ratio": 0.5}
        read.append(client.params)
        await t.get(srv.url(f"/echo/{uid}/client"))
        await t.get(srv.url(f"/echo/{uid}/merged"), params={"page": [2, 3], "q": "x"})
        client.params = None
        read.append(client.params)
        await t.get(srv.url(f"/echo/{uid}/none"))
        return read

    assert run_twin(mode, scenario) == [None, {"page": "1", "dry_run": "true", "ratio": "0.5"}, None]
    assert only(srv.seen(f"/echo/{uid}/client")).params() == [("page", "1"), ("dry_run", "true"), ("ratio", "0.5")]
    # the request's value (here a list) replaces every client value of the same key
    merged = only(srv.seen(f"/echo/{uid}/merged")).params()
    assert sorted(merged) == [("dry_run", "true"), ("page", "2"), ("page", "3"), ("q", "x"), ("ratio", "0.5")]
    assert only(srv.seen(f"/echo/{uid}/none")).query == ""


def test_timeout_property(mode: Mode, srv: BehaviourServer) -> None:
    delayed = srv.url("/delay?seconds=0.6")

    async def scenario(t: Twin) -> list[object]:
        client = t.client
        outcome: list[object] = [client.timeout]
        with pytest.raises(httpr.ReadTimeout):
            await t.get(delayed)
        client.timeout = None
        outcome.append(client.timeout)
        outcome.append((await t.get(delayed)).text)
        client.timeout = 0.3
        outcome.append(client.timeout)
        with pytest.raises(httpr.ReadTimeout):
            await t.get(delayed)
        return outcome

    assert run_twin(mode, scenario, timeout=0.3) == [0.3, None, "done", 0.3]
    with httpr.Client() as default:
        assert default.timeout == 30.0, "the documented default"


def test_per_request_values_override_client_defaults(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    async def scenario(t: Twin) -> None:
        await t.get(
            srv.url(f"/echo/{uid}/request"),
            headers={"X-Who": "request"},
            params={"who": "request"},
            cookies={"who": "request"},
            auth_bearer="request-token",
        )
        await t.get(srv.url(f"/echo/{uid}/client"))

    run_twin(
        mode,
        scenario,
        headers={"X-Who": "client", "X-Keep": "1"},
        params={"who": "client", "keep": "1"},
        cookies={"who": "client", "keep": "1"},
        auth=("client", "pw"),
    )

    request = only(srv.seen(f"/echo/{uid}/request"))
    assert request.header_list("x-who") == ["request"] and request.header("x-keep") == "1"
    assert sorted(request.params()) == [("keep", "1"), ("who", "request")]
    assert sorted(cookie_pairs(request)) == [("keep", "1"), ("who", "request")]
    assert request.header_list("authorization") == ["Bearer request-token"]

    client = only(srv.seen(f"/echo/{uid}/client"))
    assert client.header("x-who") == "client"
    assert sorted(client.params()) == [("keep", "1"), ("who", "client")]
    assert sorted(cookie_pairs(client)) == [("keep", "1"), ("who", "client")]
    assert client.header("authorization") == basic("client", "pw")


FLIP_SECONDS = 1.0
WORKERS = 4


def test_flipping_proxy_and_timeout_while_other_threads_use_the_client(
    mode: Mode, srv: BehaviourServer, proxy_srv: BehaviourServer, uid: str
) -> None:
    """Worker threads (sync) or tasks on a loop in another thread (async) keep requesting while the
    main thread flips ``proxy`` and ``timeout``: no error, no crash, and the other settings stay."""
    prefix = f"/echo/{uid}"
    proxy_url = proxy_srv.base_url
    stop = threading.Event()
    errors: list[BaseException] = []
    statuses: list[int] = []
    final: list[httpr.Response] = []
    settings: httpr.ClientParams = {"headers": {"X-Marker": uid}, "params": {"from": "client"}, "timeout": 5}

    if mode == "sync":
        sync_client = httpr.Client(**settings)
        client: httpr.Client | httpr.AsyncClient = sync_client

        def sync_worker(n: int) -> None:
            i = 0
            while not stop.is_set():
                try:
                    statuses.append(sync_client.get(srv.url(f"{prefix}/w{n}/{i}")).status_code)
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)
                    return
                i += 1

        threads = [threading.Thread(target=sync_worker, args=(n,), daemon=True) for n in range(WORKERS)]
    else:
        async_client = httpr.AsyncClient(**settings)
        client = async_client

        async def async_worker(n: int) -> None:
            i = 0
            while not stop.is_set():
                try:
                    statuses.append((await async_client.get(srv.url(f"{prefix}/w{n}/{i}"))).status_code)
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)
                    return
                i += 1

        async def main() -> None:
            try:
                await asyncio.gather(*(async_worker(n) for n in range(WORKERS)))
                final.append(await async_client.get(srv.url(f"{prefix}/final")))  # proxy is None again
                await async_client.aclose()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=asyncio.run, args=(main(),), daemon=True)]

    for thread in threads:
        thread.start()
    deadline = time.monotonic() + FLIP_SECONDS
    flips = 0
    while time.monotonic() < deadline:
        client.proxy = proxy_url if flips % 2 == 0 else None
        client.timeout = 10.0 if flips % 2 == 0 else 5.0
        flips += 1
        time.sleep(0.02)
    client.proxy = None
    client.timeout = 7.0
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads), "a worker hangs"
    if isinstance(client, httpr.Client):
        final.append(client.get(srv.url(f"{prefix}/final")))
        client.close()

    assert errors == []
    assert flips >= 10
    assert len(statuses) >= 4 * WORKERS and set(statuses) == {200}
    assert (client.proxy, client.timeout) == (None, 7.0)
    direct = [s for s in srv.seen_under(prefix) if not s.proxied]
    proxied = [s for s in proxy_srv.seen_under(prefix)]
    assert proxied and all(s.proxied for s in proxied), "no request went through the proxy"
    assert any(s.path.startswith(f"{prefix}/w") for s in direct), "no request went direct"
    for seen in direct + proxied:
        assert seen.header("x-marker") == uid, "default headers lost while flipping"
        assert ("from", "client") in seen.params(), "default params lost while flipping"
    assert [r.status_code for r in final] == [200]
    assert only(srv.seen(f"{prefix}/final")).proxied is False
    assert proxy_srv.seen(f"{prefix}/final") == [], "still proxying after client.proxy = None"


# ==================================================================================================
# Cookies
# ==================================================================================================


def test_cookie_store_sends_cookies_back_to_the_same_host_only(
    mode: Mode, srv: BehaviourServer, other: BehaviourServer, uid: str
) -> None:
    async def scenario(t: Twin) -> tuple[dict[str, str], dict[str, str]]:
        response = await t.get(set_cookie_url(srv, f"/{uid}", "sid=42; Path=/", "theme=dark; Path=/"))
        await t.get(srv.url(f"/echo/{uid}/same-host"))
        await t.get(other.url(f"/echo/{uid}/other-host"))
        return response.cookies, t.client.cookies

    response_cookies, client_cookies = run_twin(mode, scenario)

    assert response_cookies == {"sid": "42", "theme": "dark"}
    assert client_cookies == {"sid": "42", "theme": "dark"}
    assert sorted(cookie_pairs(only(srv.seen(f"/echo/{uid}/same-host")))) == [("sid", "42"), ("theme", "dark")]
    assert only(other.seen(f"/echo/{uid}/other-host")).header_list("cookie") == [], "cookie leaked to 127.0.0.2"


def test_cookie_store_disabled_neither_stores_nor_sends(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    async def scenario(t: Twin) -> tuple[dict[str, str], dict[str, str]]:
        response = await t.get(set_cookie_url(srv, f"/{uid}", "sid=42; Path=/"))
        await t.get(srv.url(f"/echo/{uid}/next"))
        return response.cookies, t.client.cookies

    response_cookies, client_cookies = run_twin(mode, scenario, cookie_store=False, cookies={"manual": "m"})

    assert response_cookies == {"sid": "42"}, "the response still reports what the server set"
    assert client_cookies == {"manual": "m"}
    assert cookie_pairs(only(srv.seen(f"/echo/{uid}/next"))) == [("manual", "m")]


def test_client_and_request_cookies_merge_into_one_header(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    async def scenario(t: Twin) -> None:
        await t.get(srv.url(f"/echo/{uid}/plain"), cookies={"b": "2"})
        await t.get(set_cookie_url(srv, f"/{uid}", "stored=s; Path=/"))
        await t.get(srv.url(f"/echo/{uid}/with-store"), cookies={"b": "2"})
        await t.get(srv.url(f"/echo/{uid}/later"))

    run_twin(mode, scenario, cookies={"a": "1"})

    assert only(srv.seen(f"/echo/{uid}/plain")).header_list("cookie") == ["a=1; b=2"]
    with_store = only(srv.seen(f"/echo/{uid}/with-store"))
    assert sorted(cookie_pairs(with_store)) == [("a", "1"), ("b", "2"), ("stored", "s")]
    assert re.fullmatch(r"\w+=\w+(; \w+=\w+)*", with_store.header_list("cookie")[0])
    assert sorted(cookie_pairs(only(srv.seen(f"/echo/{uid}/later")))) == [("a", "1"), ("stored", "s")], (
        "per-request cookies must not be remembered"
    )


def test_response_cookies_include_cookies_set_during_redirects(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    final = set_cookie_url(srv, f"/{uid}/final", "b=2; Path=/")
    start = redirect_url(srv, uid, final, set_cookies=("a=1; Path=/", "b=1; Path=/"))

    async def scenario(t: Twin) -> httpr.Response:
        response = await t.get(start)
        await t.get(srv.url(f"/echo/{uid}/after"))
        return response

    response = run_twin(mode, scenario)
    assert response.url == final
    assert response.cookies == {"a": "1", "b": "2"}, "cookies of the redirect must be included, later wins"
    assert sorted(cookie_pairs(only(srv.seen(f"/echo/{uid}/after")))) == [("a", "1"), ("b", "2")]

    not_followed = run_twin(mode, lambda t: t.get(start), follow_redirects=False)
    assert not_followed.status_code == 302
    assert not_followed.cookies == {"a": "1", "b": "1"}


def test_cookie_path_attribute_limits_where_it_is_sent(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    async def scenario(t: Twin) -> None:
        await t.get(set_cookie_url(srv, f"/{uid}", f"scoped=1; Path=/echo/{uid}/a"))
        for step in ("a", "a/deeper", "b", "ab"):
            await t.get(srv.url(f"/echo/{uid}/{step}"))

    run_twin(mode, scenario)

    assert cookie_pairs(only(srv.seen(f"/echo/{uid}/a"))) == [("scoped", "1")]
    assert cookie_pairs(only(srv.seen(f"/echo/{uid}/a/deeper"))) == [("scoped", "1")]
    assert cookie_pairs(only(srv.seen(f"/echo/{uid}/b"))) == []
    assert cookie_pairs(only(srv.seen(f"/echo/{uid}/ab"))) == [], "/ab is not under the path /a"


@pytest.mark.parametrize("expiry", ["Max-Age=0", "Expires=Thu, 01 Jan 1970 00:00:00 GMT"])
def test_expired_cookie_removes_the_stored_one(mode: Mode, srv: BehaviourServer, uid: str, expiry: str) -> None:
    async def scenario(t: Twin) -> list[dict[str, str]]:
        await t.get(set_cookie_url(srv, f"/{uid}/set", "sid=1; Path=/", "keep=1; Path=/"))
        before = t.client.cookies
        await t.get(set_cookie_url(srv, f"/{uid}/expire", f"sid=gone; Path=/; {expiry}"))
        await t.get(srv.url(f"/echo/{uid}"))
        return [before, t.client.cookies]

    before, after = run_twin(mode, scenario)

    assert before == {"sid": "1", "keep": "1"}
    assert after == {"keep": "1"}
    assert cookie_pairs(only(srv.seen(f"/echo/{uid}"))) == [("keep", "1")]


# ==================================================================================================
# Credentials and redirects
# ==================================================================================================

# id: (client settings, request options, the Authorization header the first server must see)
CREDENTIALS: dict[str, tuple[httpr.ClientParams, httpr.RequestParams, str]] = {
    "client-basic": ({"auth": ("ada", "lovelace")}, {}, basic("ada", "lovelace")),
    "client-basic-no-password": ({"auth": ("api-key", None)}, {}, basic("api-key", None)),
    "client-bearer": ({"auth_bearer": "client-token"}, {}, "Bearer client-token"),
    "client-header": ({"headers": {"Authorization": "Token c"}}, {}, "Token c"),
    "request-basic": ({}, {"auth": ("ada", "lovelace")}, basic("ada", "lovelace")),
    "request-basic-no-password": ({}, {"auth": ("api-key", None)}, basic("api-key", None)),
    "request-bearer-over-client-basic": (
        {"auth": ("client", "pw")},
        {"auth_bearer": "request-token"},
        "Bearer request-token",
    ),
    "request-header-over-client-bearer": (
        {"auth_bearer": "client-token"},
        {"headers": {"Authorization": "Token r"}},
        "Token r",
    ),
}


def follow_with_credentials(
    mode: Mode, srv: BehaviourServer, uid: str, target: str, case: str, status: int
) -> httpr.Response:
    """Store a cookie from 127.0.0.1, then follow a redirect from 127.0.0.1 to ``target`` with the
    ``case`` credentials and a per-request cookie."""
    client_settings, request_options, _ = CREDENTIALS[case]

    options = request_options.copy()
    options["cookies"] = {"per_request": "r"}

    async def scenario(t: Twin) -> httpr.Response:
        await t.get(set_cookie_url(srv, f"/{uid}", "stored=s; Path=/"))
        return await t.get(redirect_url(srv, uid, target, status=status), **options)

    return run_twin(mode, scenario, **client_settings)


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("case", list(CREDENTIALS))
def test_credentials_are_not_forwarded_to_another_host(
    mode: Mode, srv: BehaviourServer, other: BehaviourServer, uid: str, case: str, status: int
) -> None:
    target = other.url(f"/echo/{uid}")
    response = follow_with_credentials(mode, srv, uid, target, case, status)

    assert (response.status_code, response.url) == (200, target)
    first = only(srv.seen(f"/redirect/{uid}"))
    assert first.header_list("authorization") == [CREDENTIALS[case][2]]
    assert sorted(cookie_pairs(first)) == [("per_request", "r"), ("stored", "s")]
    second = only(other.seen(f"/echo/{uid}"))
    assert second.header("authorization") is None, "credentials were forwarded to 127.0.0.2"
    assert second.header_list("cookie") == [], "cookies were forwarded to 127.0.0.2"


@pytest.mark.parametrize("case", list(CREDENTIALS))
def test_credentials_are_kept_on_a_same_host_redirect(mode: Mode, srv: BehaviourServer, uid: str, case: str) -> None:
    response = follow_with_credentials(mode, srv, uid, f"/echo/{uid}", case, 302)

    assert (response.status_code, response.url) == (200, srv.url(f"/echo/{uid}"))
    second = only(srv.seen(f"/echo/{uid}"))
    assert second.header_list("authorization") == [CREDENTIALS[case][2]]
    assert sorted(cookie_pairs(second)) == [("per_request", "r"), ("stored", "s")]


# ==================================================================================================
# Redirects
# ==================================================================================================


def test_redirects_are_followed_by_default(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    response = run_twin(mode, lambda t: t.get(srv.url(f"/chain/3/{uid}")))

    assert response.status_code == 200
    assert response.url == srv.url(f"/chain/0/{uid}")
    assert response.json()["path"] == f"/chain/0/{uid}"
    assert [s.path for s in srv.seen_under("/chain/") if s.path.endswith(uid)] == [
        f"/chain/{n}/{uid}" for n in (3, 2, 1, 0)
    ]


def test_follow_redirects_false_returns_the_redirect(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    no_location = srv.add(f"/multiple-choices/{uid}", status=300)

    async def scenario(t: Twin) -> tuple[httpr.Response, httpr.Response]:
        return await t.get(srv.url(f"/chain/2/{uid}")), await t.get(no_location)

    redirect, without_location = run_twin(mode, scenario, follow_redirects=False)

    assert redirect.status_code == 302
    assert redirect.is_redirect and redirect.has_redirect_location
    assert redirect.headers["location"] == f"/chain/1/{uid}"
    assert redirect.url == srv.url(f"/chain/2/{uid}")
    assert [s.path for s in srv.seen_under("/chain/") if s.path.endswith(uid)] == [f"/chain/2/{uid}"]
    assert without_location.status_code == 300
    # httpx's meaning (issue 20): a 3xx without a Location is not a redirect to follow
    assert not without_location.is_redirect and not without_location.has_redirect_location


@pytest.mark.parametrize("limit", [1, 3])
def test_max_redirects(mode: Mode, srv: BehaviourServer, uid: str, limit: int) -> None:
    enough = run_twin(mode, lambda t: t.get(srv.url(f"/chain/{limit}/{uid}-ok")), max_redirects=limit)
    assert (enough.status_code, enough.url) == (200, srv.url(f"/chain/0/{uid}-ok"))

    too_many = srv.url(f"/chain/{limit + 1}/{uid}")
    with pytest.raises(httpr.TooManyRedirects) as info:
        run_twin(mode, lambda t: t.get(too_many), max_redirects=limit)

    assert isinstance(info.value, httpr.RequestError)
    assert too_many in str(info.value), "the message must name the URL that was requested"
    assert len([s for s in srv.seen_under("/chain/") if s.path.endswith(f"/{uid}")]) == limit + 1


@pytest.mark.parametrize(
    ("status", "keeps_method_and_body"), [(301, False), (302, False), (303, False), (307, True), (308, True)]
)
def test_post_across_a_redirect(
    mode: Mode, srv: BehaviourServer, uid: str, status: int, keeps_method_and_body: bool
) -> None:
    start = redirect_url(srv, uid, f"/echo/{uid}", status=status)
    response = run_twin(mode, lambda t: t.call("post", start, json={"id": 1}))

    assert (response.status_code, response.url) == (200, srv.url(f"/echo/{uid}"))
    first = only(srv.seen(f"/redirect/{uid}"))
    assert (first.method, first.body) == ("POST", b'{"id":1}')
    second = only(srv.seen(f"/echo/{uid}"))
    if keeps_method_and_body:
        assert (second.method, second.body) == ("POST", b'{"id":1}')
        assert second.header("content-type") == "application/json"
    else:
        assert (second.method, second.body) == ("GET", b"")
        assert second.header("content-type") is None
        assert second.header("content-length") in (None, "0")


@pytest.mark.parametrize("referer", [True, False])
def test_referer_on_redirects(mode: Mode, srv: BehaviourServer, uid: str, referer: bool) -> None:
    start = redirect_url(srv, uid, f"/echo/{uid}")
    run_twin(mode, lambda t: t.get(start), referer=referer)

    assert only(srv.seen(f"/redirect/{uid}")).header("referer") is None
    assert only(srv.seen(f"/echo/{uid}")).header_list("referer") == ([start] if referer else [])


# ==================================================================================================
# Timeouts
# ==================================================================================================

TIMEOUT = 0.5


def assert_prompt(started: float) -> None:
    elapsed = time.monotonic() - started
    assert TIMEOUT * 0.8 <= elapsed <= TIMEOUT * 1.2 + 0.2, f"timed out after {elapsed:.3f}s, limit {TIMEOUT}s"


@pytest.mark.parametrize(
    ("path", "waiting_for"),
    [("/delay?seconds=3", "response headers"), ("/stall?sent=10&total=100&seconds=3", "body")],
    ids=["headers", "body"],
)
@pytest.mark.parametrize("where", ["client", "request"])
def test_read_timeout_is_prompt_and_says_what_it_waited_for(
    mode: Mode, srv: BehaviourServer, path: str, waiting_for: str, where: str
) -> None:
    url = srv.url(path)
    settings: httpr.ClientParams = {"timeout": TIMEOUT} if where == "client" else {}
    options: httpr.RequestParams = {"timeout": TIMEOUT} if where == "request" else {}

    started = time.monotonic()
    with pytest.raises(httpr.ReadTimeout) as info:
        run_twin(mode, lambda t: t.get(url, **options), **settings)
    assert_prompt(started)

    assert waiting_for in str(info.value)
    assert info.value.request is not None and info.value.request.url == url


def test_request_timeout_none_means_no_timeout(mode: Mode, srv: BehaviourServer) -> None:
    started = time.monotonic()
    response = run_twin(mode, lambda t: t.get(srv.url("/delay?seconds=1.5"), timeout=None), timeout=TIMEOUT)

    assert response.text == "done"
    assert time.monotonic() - started >= 1.5


def test_request_timeout_shorter_than_the_client_default(mode: Mode, srv: BehaviourServer) -> None:
    started = time.monotonic()
    with pytest.raises(httpr.ReadTimeout):
        run_twin(mode, lambda t: t.get(srv.url("/delay?seconds=3"), timeout=TIMEOUT), timeout=10)
    assert_prompt(started)


# ==================================================================================================
# https_only
# ==================================================================================================


def test_https_only_refuses_plain_http_before_connecting(mode: Mode, uid: str) -> None:
    with BehaviourServer() as server:  # a server of its own: no other test's connections
        url = server.url(f"/echo/{uid}")
        with pytest.raises(httpr.UnsupportedProtocol) as info:
            run_twin(mode, lambda t: t.get(url), https_only=True)
        time.sleep(0.1)  # a connection, had there been one, would have been accepted by now

        assert server.connections == 0
        assert server.seen_under("/") == []
    assert isinstance(info.value, httpr.TransportError)
    assert url in str(info.value)


# ==================================================================================================
# Text decoding
# ==================================================================================================

LATIN1_HTML = '<html><head><meta charset="iso-8859-1"></head><body>café</body></html>'
CP1252_HTML = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
    "</head><body>café 5 €</body></html>"
)
XML_DOC = '<?xml version="1.0" encoding="iso-8859-1"?><menu>crème brûlée</menu>'

# id: (Content-Type or None, body, expected text, acceptable encodings as Python codec names)
DECODING: dict[str, tuple[str | None, bytes, str, set[str]]] = {
    "charset-utf-8": ("text/plain; charset=utf-8", "naïve ∮".encode(), "naïve ∮", {"utf-8"}),
    "charset-utf-16le": ("text/plain; charset=utf-16le", "naïve ∮".encode("utf-16-le"), "naïve ∮", {"utf-16-le"}),
    "charset-beats-meta": ("text/html; charset=utf-8", LATIN1_HTML.encode(), LATIN1_HTML, {"utf-8"}),
    "bom-utf-8": ("text/plain", codecs.BOM_UTF8 + "café".encode(), "café", {"utf-8", "utf-8-sig"}),
    "bom-utf-16-le": ("text/plain", codecs.BOM_UTF16_LE + "café ∮".encode("utf-16-le"), "café ∮", {"utf-16-le", "utf-16"}),
    "bom-utf-16-be": ("text/plain", codecs.BOM_UTF16_BE + "café ∮".encode("utf-16-be"), "café ∮", {"utf-16-be", "utf-16"}),
    "html-meta-charset": ("text/html", LATIN1_HTML.encode("latin-1"), LATIN1_HTML, {"iso8859-1", "cp1252"}),
    "html-meta-http-equiv": ("text/html", CP1252_HTML.encode("cp1252"), CP1252_HTML, {"cp1252"}),
    "xml-declaration": ("application/xml", XML_DOC.encode("latin-1"), XML_DOC, {"iso8859-1", "cp1252"}),
    "default-utf-8": ("text/plain", "café ∮".encode(), "café ∮", {"utf-8"}),
    "no-content-type": (None, "café".encode(), "café", {"utf-8"}),
    "json-utf-8": ("application/json", '{"k": "café"}'.encode(), '{"k": "café"}', {"utf-8"}),
    "invalid-utf-8": ("text/plain; charset=utf-8", b"caf\xe9 \xff ok \xc3", "caf\ufffd \ufffd ok \ufffd", {"utf-8"}),
    "invalid-utf-16-odd-length": ("text/plain; charset=utf-16le", b"a\x00b", "a\ufffd", {"utf-16-le"}),
    "latin-1-charset": ("text/plain; charset=ISO-8859-1", "Ærø déjà".encode("latin-1"), "Ærø déjà", {"iso8859-1", "cp1252"}),
}


def codec_name(name: str) -> str:
    return codecs.lookup(name).name


@pytest.mark.parametrize("case", list(DECODING))
def test_text_decoding(srv: BehaviourServer, uid: str, case: str) -> None:
    content_type, body, expected_text, encodings = DECODING[case]
    url = srv.add(f"/text/{uid}", body, headers=[("Content-Type", content_type)] if content_type else [])

    response = httpr.get(url)

    assert response.content == body
    assert response.text == expected_text
    assert codec_name(response.encoding) in {codec_name(e) for e in encodings}, response.encoding


def test_setting_encoding_decodes_text_again(srv: BehaviourServer, uid: str) -> None:
    body = "café ∮".encode()
    response = httpr.get(srv.add(f"/text/{uid}", body, headers=[("Content-Type", "text/plain; charset=utf-8")]))
    assert response.text == "café ∮"

    response.encoding = "latin-1"
    assert codec_name(response.encoding) in {"iso8859-1", "cp1252"}
    assert response.text == body.decode("cp1252") == "cafÃ© âˆ®"

    response.encoding = "utf-8"
    assert response.text == "café ∮"

    with pytest.raises(LookupError):
        response.encoding = "no-such-codec"
    assert response.text == "café ∮"


# ==================================================================================================
# CBOR
# ==================================================================================================

CBOR_VALUES: dict[str, Any] = {
    "small-ints": [0, 1, 23, 24, 255, 256, 65536, 2**32, 2**63 - 1, 2**64 - 1],
    "negative-ints": [-1, -24, -25, -256, -(2**31), -(2**63), -(2**64)],
    "big-ints": [2**64, 2**64 + 5, 2**100, -(2**64) - 1, -(2**100)],
    "huge-bignum": [2**200 + 1, -(2**200)],
    "floats": [0.0, 1.5, -2.25, 0.1, 1e300, -1e-300, math.inf],
    "bytes": [b"", b"\x00\xff", bytes(range(256))],
    "nested": {"a": {"b": [1, {"c": [None, [True, {"d": "é✓日本"}]]}]}, "empty": [[], {}]},
    "none-and-bools": [None, True, False],
    "strings": ["", "ascii", "é✓日本", "x" * 1000],
}


@pytest.mark.parametrize("case", list(CBOR_VALUES))
def test_json_with_accept_cbor_is_sent_as_cbor(mode: Mode, srv: BehaviourServer, uid: str, case: str) -> None:
    """``json=`` with ``Accept: application/cbor`` goes out as CBOR (the server decodes it with cbor2
    and sends it back re-encoded), and ``json()`` decodes the CBOR answer: a full round trip."""
    payload = {"case": case, "value": CBOR_VALUES[case]}
    url = srv.url(f"/cbor-echo/{uid}")

    response = run_twin(mode, lambda t: t.call("post", url, json=payload, headers={"Accept": "application/cbor"}))

    sent = only(srv.seen(f"/cbor-echo/{uid}"))
    assert sent.header("content-type") == "application/cbor"
    assert sent.header("accept") == "application/cbor"
    assert cbor2.loads(sent.body) == payload
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/cbor"
    assert response.json() == payload


@pytest.mark.parametrize("case", list(CBOR_VALUES))
def test_json_decodes_a_cbor_response(srv: BehaviourServer, uid: str, case: str) -> None:
    payload = {"case": case, "value": CBOR_VALUES[case]}
    url = srv.add(f"/cbor/{uid}", cbor2.dumps(payload), headers=[("Content-Type", "application/cbor")])

    assert httpr.get(url).json() == payload


def test_cbor_is_chosen_by_content_type_only(srv: BehaviourServer, uid: str) -> None:
    encoded = cbor2.dumps({"k": [1, 2]})
    as_binary = srv.add(f"/binary/{uid}", encoded, headers=[("Content-Type", "application/octet-stream")])

    with pytest.raises(httpr.DecodingError):  # not CBOR by its Content-Type: parsed as JSON, and it is not
        httpr.get(as_binary, headers={"Accept": "application/cbor"}).json()


@pytest.mark.parametrize(
    "body",
    [b"", b"\x82\x01", b"\x65ab", b"\x1c", b"\xff", b"\xa1\x01"],
    ids=["empty", "truncated-array", "truncated-string", "reserved-info", "lone-break", "map-without-value"],
)
def test_malformed_cbor_raises_decoding_error(srv: BehaviourServer, uid: str, body: bytes) -> None:
    response = httpr.get(srv.add(f"/cbor/{uid}", body, headers=[("Content-Type", "application/cbor")]))

    assert response.content == body
    with pytest.raises(httpr.DecodingError) as info:
        response.json()
    assert isinstance(info.value, httpr.RequestError)


# ==================================================================================================
# HTML conversion
# ==================================================================================================

HTML_PAGE = """<!DOCTYPE html>
<html><head><title>Menu</title></head><body>
<h1>Café Menu</h1>
<p>See the <a href="https://example.org/docs">full documentation</a> for <b>details</b>.</p>
<h2>Desserts</h2>
<ul><li>Crème brûlée</li><li>Île flottante</li></ul>
<ol><li>Order first</li><li>Pay after</li></ol>
<table>
<tr><th>Item</th><th>Price</th></tr>
<tr><td>Naïve tart</td><td>4,50</td></tr>
</table>
<p>Déjà vu, señor.</p>
</body></html>
"""

EVERY_TEXT = ["Café Menu", "full documentation", "Desserts", "Crème brûlée", "Île flottante", "Order first",
              "Pay after", "Naïve tart", "4,50", "Déjà vu, señor."]  # fmt: skip


@pytest.fixture(params=["utf-8", "iso-8859-1"])
def html_response(request: pytest.FixtureRequest, srv: BehaviourServer, uid: str) -> httpr.Response:
    charset = cast(str, request.param)
    body = HTML_PAGE.encode(charset)
    return httpr.get(srv.add(f"/html/{uid}", body, headers=[("Content-Type", f"text/html; charset={charset}")]))


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_text_markdown(html_response: httpr.Response) -> None:
    markdown = html_response.text_markdown

    for text in EVERY_TEXT:
        assert text in markdown
    assert "# Café Menu" in lines(markdown)
    assert "## Desserts" in lines(markdown)
    assert "https://example.org/docs" in markdown
    assert "**details**" in markdown
    assert any(re.fullmatch(r"[*-] Crème brûlée", line.strip()) for line in lines(markdown))
    assert "1. Order first" in [line.strip() for line in lines(markdown)]
    assert "<" not in markdown, "HTML tags left in the output"


def test_text_plain(html_response: httpr.Response) -> None:
    plain = html_response.text_plain

    for text in EVERY_TEXT:
        assert text in plain
    assert not [line for line in lines(plain) if line.startswith("#")], f"heading markup in plain text:\n{plain}"
    assert "**" not in plain
    assert "https://example.org/docs" not in plain
    assert "<" not in plain


def test_text_rich(html_response: httpr.Response) -> None:
    rich = html_response.text_rich

    for text in EVERY_TEXT:
        assert text in rich
    assert "https://example.org/docs" not in rich
    assert "[full documentation]" not in rich and "**" not in rich
    assert "<" not in rich


# ==================================================================================================
# Params and form data
# ==================================================================================================

VALUE_RULES: list[tuple[str, Any]] = [
    ("list", [1, "two", True, None]),
    ("yes", True),
    ("no", False),
    ("none", None),
    ("int", 7),
    ("negative", -3),
    ("float", 1.5),
    ("text", "a b&c=d é"),
]
VALUE_RULES_ENCODED = [
    ("list", "1"), ("list", "two"), ("list", "true"), ("list", ""), ("yes", "true"), ("no", "false"),
    ("none", ""), ("int", "7"), ("negative", "-3"), ("float", "1.5"), ("text", "a b&c=d é"),
]  # fmt: skip


def send_values(t: Twin, where: str, url: str, values: Any) -> Any:
    if where == "params":
        return t.get(url, params=values)
    return t.call("post", url, data=values)


def received_values(seen: Seen, where: str) -> list[tuple[str, str]]:
    if where == "params":
        return seen.params()
    assert seen.header("content-type") == "application/x-www-form-urlencoded"
    return urllib.parse.parse_qsl(seen.body.decode(), keep_blank_values=True)


@pytest.mark.parametrize("shape", ["dict", "pairs"])
@pytest.mark.parametrize("where", ["params", "data"])
def test_value_encoding_rules(mode: Mode, srv: BehaviourServer, uid: str, where: str, shape: str) -> None:
    values: Any = dict(VALUE_RULES) if shape == "dict" else list(VALUE_RULES)
    url = srv.url(f"/echo/{uid}")

    run_twin(mode, lambda t: send_values(t, where, url, values))

    seen = only(srv.seen(f"/echo/{uid}"))
    assert received_values(seen, where) == VALUE_RULES_ENCODED
    if where == "params":
        assert "&none=&" in f"&{seen.query}&", "None must be sent as an empty value"


BAD_VALUES: list[tuple[str, Any, str]] = [
    ("object", object(), "object"),
    ("dict", {"x": 1}, "dict"),
    ("bytes", b"raw", "bytes"),
    ("object-in-list", [1, object()], "object"),
]


@pytest.mark.parametrize(("value", "type_name"), [case[1:] for case in BAD_VALUES], ids=[c[0] for c in BAD_VALUES])
@pytest.mark.parametrize("where", ["params", "data"])
def test_other_value_types_are_a_type_error_naming_the_key(
    mode: Mode, srv: BehaviourServer, uid: str, where: str, value: Any, type_name: str
) -> None:
    url = srv.url(f"/echo/{uid}")
    with pytest.raises(TypeError) as info:
        run_twin(mode, lambda t: send_values(t, where, url, {"fine": 1, "bad_key": value}))

    assert "bad_key" in str(info.value)
    assert type_name in str(info.value)
    assert srv.seen(f"/echo/{uid}") == [], "nothing may be sent"


def test_client_params_of_another_type_are_a_type_error(mode: Mode) -> None:
    with pytest.raises(TypeError) as info:
        run_twin(mode, lambda t: asyncio.sleep(0), params={"bad_key": object()})
    assert "bad_key" in str(info.value) and "object" in str(info.value)


# ==================================================================================================
# Response status helpers
# ==================================================================================================

# status: (reason phrase, is_success, is_redirect, is_client_error, is_server_error)
STATUSES: dict[int, tuple[str, bool, bool, bool, bool]] = {
    200: ("OK", True, False, False, False),
    201: ("Created", True, False, False, False),
    204: ("No Content", True, False, False, False),
    301: ("Moved Permanently", False, True, False, False),
    304: ("Not Modified", False, True, False, False),
    400: ("Bad Request", False, False, True, False),
    404: ("Not Found", False, False, True, False),
    418: ("I'm a teapot", False, False, True, False),
    500: ("Internal Server Error", False, False, False, True),
    503: ("Service Unavailable", False, False, False, True),
}


@pytest.mark.parametrize("status", list(STATUSES))
def test_status_flags_reason_repr_and_raise_for_status(srv: BehaviourServer, uid: str, status: int) -> None:
    reason, success, redirect, client_error, server_error = STATUSES[status]
    headers = [("Location", "/elsewhere")] if status == 301 else []
    url = srv.add(f"/status/{uid}", status=status, headers=headers)

    with httpr.Client(follow_redirects=False) as client:
        response = client.get(url)

    assert response.status_code == status
    assert response.reason_phrase == reason
    assert repr(response) == f"<Response [{status} {reason}]>"
    flags = (
        response.is_informational,
        response.is_success,
        response.is_redirect,
        response.is_client_error,
        response.is_server_error,
        response.is_error,
        response.has_redirect_location,
    )
    # is_redirect has httpx's meaning: a followable status with a Location (only 301 here)
    assert flags == (False, success, status == 301, client_error, server_error, client_error or server_error, status == 301)
    assert (300 <= response.status_code < 400) == redirect

    if not success:  # anything but 2xx raises, as in httpx and httpr 0.7.8
        with pytest.raises(httpr.HTTPStatusError) as info:
            response.raise_for_status()
        error = info.value
        assert error.response is not None and error.response.status_code == status
        assert error.request is not None and (error.request.method, error.request.url) == ("GET", url)
        assert str(status) in str(error) and url in str(error)
    else:
        assert response.raise_for_status() is response


def test_elapsed_is_a_positive_float_covering_the_wait(mode: Mode, srv: BehaviourServer, uid: str) -> None:
    async def scenario(t: Twin) -> tuple[httpr.Response, httpr.Response]:
        return await t.get(srv.url(f"/echo/{uid}")), await t.get(srv.url("/delay?seconds=0.3"))

    quick, slow = run_twin(mode, scenario)

    # a timedelta (httpx, requests) that still compares and converts as 0.7.8's float
    assert isinstance(quick.elapsed, datetime.timedelta) and quick.elapsed > 0
    assert isinstance(float(slow.elapsed), float) and 0.3 <= slow.elapsed < 2
    assert quick.elapsed < slow.elapsed
