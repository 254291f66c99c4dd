"""httpr.request/get/post/put/patch/delete/head/options: what the server got, what came back."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

import httpr
from servers import LocalServer

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def module_function(method: str) -> Callable[..., httpr.Response]:
    func: Callable[..., httpr.Response] = getattr(httpr, method.lower())
    return func


@pytest.mark.parametrize("method", METHODS)
def test_method_function_sends_its_method_params_and_headers(
    method: str, local_server: LocalServer, echo_path: str
) -> None:
    response = module_function(method)(
        local_server.url(echo_path),
        params={"q": "httpr", "page": 2},
        headers={"X-Test": "yes"},
        timeout=10,
    )

    assert isinstance(response, httpr.Response)
    assert response.status_code == 200
    [seen] = local_server.received(echo_path)
    assert seen.method == method
    assert seen.query == "q=httpr&page=2"
    assert seen.header("x-test") == "yes"
    if method == "HEAD":
        assert response.content == b""
    else:
        assert response.json()["method"] == method


@pytest.mark.parametrize("method", METHODS)
def test_request_function_sends_given_method(
    method: str, local_server: LocalServer, echo_path: str
) -> None:
    any_method: Any = method  # a plain str; the stubs may narrow methods to a Literal
    response = httpr.request(any_method, local_server.url(echo_path), timeout=10)

    assert response.status_code == 200
    assert [r.method for r in local_server.received(echo_path)] == [method]


def test_get_query_and_headers_reach_httpbin(httpbin: Any) -> None:
    response = httpr.get(
        httpbin.url + "/get",
        params={"search": "python", "page": 1, "limit": 10},
        headers={"X-Custom-Header": "my-value", "Accept": "application/json"},
    )

    body = response.json()
    assert body["args"] == {"search": "python", "page": "1", "limit": "10"}
    assert body["headers"]["X-Custom-Header"] == "my-value"
    assert body["headers"]["Accept"] == "application/json"
    assert response.url == httpbin.url + "/get?search=python&page=1&limit=10"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize(
    ("kwargs", "field", "expected"),
    [
        ({"json": {"key": "value", "n": 1}}, "json", {"key": "value", "n": 1}),
        ({"data": {"username": "user", "password": "secret"}}, "form", {"username": "user", "password": "secret"}),
        ({"content": b"raw binary data"}, "data", "raw binary data"),
    ],
    ids=["json", "form", "content"],
)
def test_body_methods_send_body(
    httpbin: Any, method: str, kwargs: dict[str, Any], field: str, expected: Any
) -> None:
    response = module_function(method)(httpbin.url + "/" + method.lower(), **kwargs)

    assert response.status_code == 200
    assert response.json()[field] == expected


def test_delete_reaches_httpbin_with_args(httpbin: Any) -> None:
    response = httpr.delete(httpbin.url + "/delete", params={"id": 7})

    assert response.status_code == 200
    assert response.json()["args"] == {"id": "7"}


def test_head_returns_headers_without_body(httpbin: Any) -> None:
    response = httpr.head(httpbin.url + "/get")

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == "application/json"


def test_options_returns_allow_header(httpbin: Any) -> None:
    response = httpr.options(httpbin.url + "/get")

    assert response.status_code == 200
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "HEAD", "OPTIONS"} <= allowed


def test_request_function_with_json_body(httpbin: Any) -> None:
    response = httpr.request("POST", httpbin.url + "/post", json={"key": "value"})

    assert response.json()["json"] == {"key": "value"}


def test_module_functions_send_cookies_and_auth(httpbin: Any) -> None:
    cookies = httpr.get(httpbin.url + "/cookies", cookies={"flavour": "oat"})
    basic = httpr.get(httpbin.url + "/basic-auth/user/pass", auth=("user", "pass"))
    bearer = httpr.get(httpbin.url + "/bearer", auth_bearer="t0ken")

    assert cookies.json() == {"cookies": {"flavour": "oat"}}
    assert basic.json() == {"authenticated": True, "user": "user"}
    assert bearer.json() == {"authenticated": True, "token": "t0ken"}


def test_delete_may_carry_a_body(local_server: LocalServer, echo_path: str) -> None:
    response = httpr.delete(local_server.url(echo_path), content=b"gone")

    assert base64.b64decode(response.json()["body"]) == b"gone"
    [seen] = local_server.received(echo_path)
    assert (seen.method, seen.body) == ("DELETE", b"gone")


def test_post_json_body_is_utf8_json(local_server: LocalServer, echo_path: str) -> None:
    payload = {"name": "Zoë", "tags": ["a", "b"]}

    httpr.post(local_server.url(echo_path), json=payload)

    [seen] = local_server.received(echo_path)
    assert json.loads(seen.body.decode("utf-8")) == payload
