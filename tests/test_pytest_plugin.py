"""The ``httpr_mock`` fixture (httpr's pytest plugin, loaded through the ``pytest11`` entry
point): used here the way a user's tests would, and run through ``pytester`` for what only a
separate pytest run can show (the teardown failure for a route that was never requested).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

import pytest

import httpr
from httpr.pytest_plugin import HTTPRMock, UnmatchedRequestError

pytest_plugins = ["pytester"]


def test_routes_answer_and_record_calls(httpr_mock: HTTPRMock) -> None:
    users = httpr_mock.add("GET", "https://api.example.com/users?page=1&size=2", json=[{"id": 1}])
    created = httpr_mock.add("POST", "https://api.example.com/users", status_code=201, json={"id": 2})
    with httpr.Client(transport=httpr_mock.transport) as client:
        # Query order, host case and the default port do not matter for an exact URL.
        r = client.get("https://API.example.com:443/users", params={"size": 2, "page": 1})
        assert r.json() == [{"id": 1}]
        r = client.post("https://api.example.com/users", json={"name": "ada"})
        assert r.status_code == 201 and r.json() == {"id": 2}
    assert users.call_count == 1 and created.called
    assert created.calls[0].json() == {"name": "ada"}
    assert [q.method for q in httpr_mock.requests] == ["GET", "POST"]


def test_exact_urls_compare_decoded(httpr_mock: HTTPRMock) -> None:
    httpr_mock.add("GET", "http://svc.test/a b/ü?q=x y")
    with httpr.Client(transport=httpr_mock.transport) as client:
        assert client.get("http://svc.test/a%20b/%C3%BC", params={"q": "x y"}).status_code == 200


def test_regex_routes_and_matchers(httpr_mock: HTTPRMock) -> None:
    admin = httpr_mock.add(
        "GET", re.compile(r"https://api\.example\.com/items/\d+"), match_headers={"Authorization": "Bearer admin"}, text="admin view"
    )
    public = httpr_mock.add("GET", re.compile(r"https://api\.example\.com/items/\d+"), text="public view")
    ada = httpr_mock.add("POST", "https://api.example.com/items", match_json={"name": "ada"}, status_code=201)
    raw = httpr_mock.add("POST", "https://api.example.com/items", match_content=b"raw", status_code=202)
    with httpr.Client(transport=httpr_mock.transport) as client:
        assert client.get("https://api.example.com/items/7", auth_bearer="admin").text == "admin view"
        assert client.get("https://api.example.com/items/8?x=1").text == "public view"
        assert client.post("https://api.example.com/items", json={"name": "ada"}).status_code == 201
        assert client.post("https://api.example.com/items", content=b"raw").status_code == 202
        with pytest.raises(UnmatchedRequestError):
            client.post("https://api.example.com/items", json={"name": "bob"})
    assert (admin.call_count, public.call_count, ada.call_count, raw.call_count) == (1, 1, 1, 1)


def test_same_route_twice_answers_in_order_then_repeats_the_last(httpr_mock: HTTPRMock) -> None:
    httpr_mock.add("GET", "http://svc.test/status", status_code=503)
    httpr_mock.add("GET", "http://svc.test/status", text="up")
    with httpr.Client(transport=httpr_mock.transport) as client:
        codes = [client.get("http://svc.test/status").status_code for _ in range(3)]
    assert codes == [503, 200, 200]


def test_callbacks_build_responses_from_the_request(httpr_mock: HTTPRMock) -> None:
    def echo(request: httpr.Request) -> httpr.Response:
        return httpr.Response(200, json={"got": request.json(), "ua": request.headers["user-agent"][:6]})

    httpr_mock.add("PUT", "http://svc.test/echo", callback=echo)
    with httpr.Client(transport=httpr_mock.transport) as client:
        assert client.put("http://svc.test/echo", json=[1, 2]).json() == {"got": [1, 2], "ua": "httpr/"}


def test_unmatched_request_names_it_and_lists_the_routes(httpr_mock: HTTPRMock) -> None:
    httpr_mock.add("GET", "http://svc.test/a", match_headers={"x-key": "1"})
    httpr_mock.assert_all_requested = False
    with httpr.Client(transport=httpr_mock.transport) as client:
        with pytest.raises(httpr.TransportError) as info:
            client.get("http://svc.test/b")
    assert isinstance(info.value, UnmatchedRequestError)
    message = str(info.value)
    assert "no route for GET http://svc.test/b" in message
    assert "GET http://svc.test/a headers={'x-key': '1'} (requested 0 times)" in message
    assert info.value.request is not None and info.value.request.url == "http://svc.test/b"


def test_async_client_with_async_callbacks(httpr_mock: HTTPRMock) -> None:
    async def slow(request: httpr.Request) -> httpr.Response:
        await asyncio.sleep(0.01)
        return httpr.Response(200, json={"n": int(request.url.rsplit("/", 1)[1])})

    route = httpr_mock.add("GET", re.compile(r"http://svc\.test/n/\d+$"), callback=slow)

    async def main() -> list[int]:
        async with httpr.AsyncClient(transport=httpr_mock.transport) as client:
            rs = await asyncio.gather(*(client.get(f"http://svc.test/n/{i}") for i in range(10)))
            return [r.json()["n"] for r in rs]

    assert asyncio.run(main()) == list(range(10))
    assert route.call_count == 10


def test_add_rejects_a_callback_with_response_fields(httpr_mock: HTTPRMock) -> None:
    with pytest.raises(TypeError, match="either a callback or"):
        httpr_mock.add("GET", "http://svc.test/", callback=lambda r: httpr.Response(200), status_code=404)
    with pytest.raises(ValueError):
        httpr_mock.add("GET", "http://svc.test/", status_code=7)
    with pytest.raises(ValueError, match="only one of content, text or json"):
        httpr_mock.add("GET", "http://svc.test/", json={}, text="x")


def test_json_null_is_a_body(httpr_mock: HTTPRMock) -> None:
    httpr_mock.add("GET", "http://svc.test/null", json=None)
    with httpr.Client(transport=httpr_mock.transport) as client:
        r = client.get("http://svc.test/null")
    assert r.content == b"null" and r.json() is None
    assert r.headers["content-type"] == "application/json"


# -- a separate pytest run: what happens at teardown ---------------------------------------

USER_TESTS = '''
import pytest
import httpr

def test_unused_route(httpr_mock):
    httpr_mock.add("GET", "http://svc.test/used")
    httpr_mock.add("POST", "http://svc.test/never")
    with httpr.Client(transport=httpr_mock.transport) as client:
        client.get("http://svc.test/used")

@pytest.mark.httpr_mock(assert_all_requested=False)
def test_opted_out_with_the_marker(httpr_mock):
    httpr_mock.add("GET", "http://svc.test/optional")

def test_opted_out_in_the_test(httpr_mock):
    httpr_mock.add("GET", "http://svc.test/optional")
    httpr_mock.assert_all_requested = False

def test_all_used(httpr_mock):
    httpr_mock.add("GET", "http://svc.test/x")
    with httpr.Client(transport=httpr_mock.transport) as client:
        assert client.get("http://svc.test/x").status_code == 200

def test_failing_test_gets_no_second_error(httpr_mock):
    httpr_mock.add("GET", "http://svc.test/x")
    assert False, "the test's own failure"

def test_skipped_test_gets_no_error(httpr_mock):
    httpr_mock.add("GET", "http://svc.test/x")
    pytest.skip("not today")
'''


def test_unrequested_route_fails_the_test_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=4, failed=1, errors=1, skipped=1)
    out = result.stdout.str()
    assert "ERROR at teardown of test_unused_route" in out
    assert "httpr_mock: these routes were never requested:\n  POST http://svc.test/never" in out
    assert "GET http://svc.test/used" not in out.split("never requested:")[1].split("(use @pytest")[0]
    assert "the test's own failure" in out
    # Once, in the teardown error (the summary at the end repeats messages in full under CI).
    assert out.split("short test summary info")[0].count("never requested") == 1


def test_plugin_is_registered_through_the_entry_point() -> None:
    # A fresh interpreter: `import httpr` must not import pytest; pytest finds the plugin.
    code = "import sys, httpr; assert 'pytest' not in sys.modules and 'httpr.pytest_plugin' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    from importlib.metadata import entry_points

    names = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert names.get("httpr") == "httpr.pytest_plugin"


# -- code under test that makes its own clients ------------------------------------------


def fetch_user_name(user_id: int) -> str:
    """Application code: it knows nothing about the mock."""
    r = httpr.get(f"https://api.example.com/users/{user_id}")
    r.raise_for_status()
    name: str = r.json()["name"]
    return name


def test_code_under_test_is_mocked_without_passing_the_transport(httpr_mock: HTTPRMock) -> None:
    httpr_mock.add("GET", "https://api.example.com/users/1", json={"name": "Ada"})
    httpr_mock.add("GET", "https://api.example.com/users/2", status_code=404)
    assert fetch_user_name(1) == "Ada"
    with pytest.raises(httpr.HTTPStatusError, match="404"):
        fetch_user_name(2)
    with pytest.raises(UnmatchedRequestError, match="no route for GET https://api.example.com/users/3"):
        fetch_user_name(3)


@pytest.mark.httpr_mock(mock_all_clients=False)
def test_mock_all_clients_false_leaves_other_clients_on_the_network(httpr_mock: HTTPRMock, echo_url: str) -> None:
    httpr_mock.add("GET", "http://svc.test/mocked", text="mocked")
    assert not httpr_mock.transport.installed
    with httpr.Client(transport=httpr_mock.transport) as mocked, httpr.Client() as real:
        assert mocked.get("http://svc.test/mocked").text == "mocked"
        assert real.get(echo_url).status_code == 200  # the local test server answered


def test_the_fixture_uninstalls_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user='''
transports = []

def test_a(httpr_mock):
    assert httpr_mock.transport.installed
    transports.append(httpr_mock.transport)

def test_b():
    assert not transports[0].installed
'''
    )
    pytester.runpytest("-p", "no:cacheprovider", "-q").assert_outcomes(passed=2)
