"""httpr.Client: lifecycle and the request defaults it carries (headers, params, cookies, auth,
timeout), and how per-request arguments merge with or override them."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest

import httpr
from servers import LocalServer


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- lifecycle -----------------------------------------------------------------------------------


def test_context_manager_yields_the_client_and_closes_it(echo_url: str) -> None:
    with httpr.Client() as client:
        assert isinstance(client, httpr.Client)
        assert client.get(echo_url).status_code == 200

    # Closed on exit: the next request has to reopen it, which is announced.
    with pytest.warns(httpr.ClientReopenedWarning):
        client.get(echo_url)
    client.close()


def test_close_is_idempotent(echo_url: str) -> None:
    client = httpr.Client()
    assert client.get(echo_url).status_code == 200

    client.close()
    client.close()

    with pytest.warns(httpr.ClientReopenedWarning):
        client.get(echo_url)
    client.close()


def test_client_reuses_for_many_requests(local_server: LocalServer, echo_path: str) -> None:
    with httpr.Client() as client:
        statuses = [client.get(local_server.url(echo_path)).status_code for _ in range(5)]

    assert statuses == [200] * 5
    assert len(local_server.received(echo_path)) == 5


# -- headers -------------------------------------------------------------------------------------


def test_default_headers_are_sent_and_merged_with_request_headers(httpbin: Any) -> None:
    with httpr.Client(headers={"X-Default": "d", "X-Both": "client"}) as client:
        sent = client.get(
            httpbin.url + "/headers", headers={"X-Request": "r", "x-both": "request"}
        ).json()["headers"]
        plain = client.get(httpbin.url + "/headers").json()["headers"]

    assert (sent["X-Default"], sent["X-Request"], sent["X-Both"]) == ("d", "r", "request")
    assert (plain["X-Default"], plain["X-Both"]) == ("d", "client")
    assert "X-Request" not in plain


# -- params --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_params", "request_params", "expected"),
    [
        ({"api_key": "k"}, None, {"api_key": "k"}),
        ({"page": 1, "ratio": 1.5}, None, {"page": "1", "ratio": "1.5"}),
        ({"api_key": "k"}, {"page": 1}, {"api_key": "k", "page": "1"}),
        ({"api_key": "k", "page": 1}, {"page": 2, "q": "x"}, {"api_key": "k", "page": "2", "q": "x"}),
    ],
    ids=["client-only", "numbers-become-strings", "merged", "request-wins"],
)
def test_params_merge(
    httpbin: Any,
    client_params: dict[str, Any],
    request_params: dict[str, Any] | None,
    expected: dict[str, str],
) -> None:
    with httpr.Client(params=client_params) as client:
        response = client.get(httpbin.url + "/get", params=request_params)

    assert response.json()["args"] == expected


# -- cookies -------------------------------------------------------------------------------------


def test_client_cookies_are_sent_and_merged_with_request_cookies(httpbin: Any) -> None:
    with httpr.Client(cookies={"session": "abc"}) as client:
        alone = client.get(httpbin.url + "/cookies").json()
        merged = client.get(httpbin.url + "/cookies", cookies={"extra": "1"}).json()

    assert alone == {"cookies": {"session": "abc"}}
    assert merged == {"cookies": {"session": "abc", "extra": "1"}}


# -- auth ----------------------------------------------------------------------------------------


def test_client_basic_auth(httpbin: Any) -> None:
    with httpr.Client(auth=("user", "pass")) as client:
        response = client.get(httpbin.url + "/basic-auth/user/pass")

    assert response.status_code == 200
    assert response.json() == {"authenticated": True, "user": "user"}


def test_client_basic_auth_without_password(httpbin: Any) -> None:
    with httpr.Client(auth=("api-key", None)) as client:
        headers = client.get(httpbin.url + "/headers").json()["headers"]

    assert headers["Authorization"] == basic("api-key", "")


def test_client_bearer_auth(httpbin: Any) -> None:
    with httpr.Client(auth_bearer="secret-token") as client:
        response = client.get(httpbin.url + "/bearer")
        headers = client.get(httpbin.url + "/headers").json()["headers"]

    assert response.json() == {"authenticated": True, "token": "secret-token"}
    assert headers["Authorization"] == "Bearer secret-token"


def test_request_auth_overrides_client_auth(httpbin: Any) -> None:
    with httpr.Client(auth=("wrong", "creds")) as client:
        default = client.get(httpbin.url + "/basic-auth/user/pass")
        overridden = client.get(httpbin.url + "/basic-auth/user/pass", auth=("user", "pass"))

    assert default.status_code == 401
    assert overridden.status_code == 200


def test_request_bearer_overrides_client_bearer(httpbin: Any) -> None:
    with httpr.Client(auth_bearer="client-token") as client:
        headers = client.get(httpbin.url + "/headers", auth_bearer="request-token").json()["headers"]

    assert headers["Authorization"] == "Bearer request-token"


# -- timeout -------------------------------------------------------------------------------------

TIMEOUT = 0.5


@pytest.mark.parametrize("where", ["client", "request"])
def test_timeout_raises_read_timeout_promptly(local_server: LocalServer, where: str) -> None:
    client_timeout = TIMEOUT if where == "client" else 30
    request_kwargs: dict[str, Any] = {"timeout": TIMEOUT} if where == "request" else {}
    slow = local_server.url("/slow?seconds=5")

    with httpr.Client(timeout=client_timeout) as client:
        started = time.monotonic()
        with pytest.raises(httpr.TimeoutException) as info:
            client.get(slow, **request_kwargs)
        elapsed = time.monotonic() - started

    assert isinstance(info.value, httpr.ReadTimeout)
    assert TIMEOUT * 0.8 <= elapsed < TIMEOUT + 1.0


def test_request_timeout_can_extend_client_timeout(local_server: LocalServer) -> None:
    with httpr.Client(timeout=0.2) as client:
        response = client.get(local_server.url("/slow?seconds=0.6"), timeout=5)

    assert response.status_code == 200
    assert response.text == "finally"
