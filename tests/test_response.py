"""Response: status_code, text, content, json(), headers, cookies, url, encoding."""

from __future__ import annotations

import random
from typing import Any

import pytest

import httpr
from servers import CHARSET_TEXT, LocalServer


@pytest.mark.parametrize("status", [200, 201, 204, 301, 404, 418, 500, 503])
def test_status_code_is_returned_not_raised(httpbin: Any, status: int) -> None:
    with httpr.Client(follow_redirects=False) as client:
        response = client.get(httpbin.url + f"/status/{status}")

    assert response.status_code == status


def test_text(httpbin: Any) -> None:
    response = httpr.get(httpbin.url + "/html")

    assert isinstance(response.text, str)
    assert "Herman Melville - Moby-Dick" in response.text
    assert response.text == response.content.decode("utf-8")


def test_content_is_the_exact_bytes(httpbin: Any) -> None:
    response = httpr.get(httpbin.url + "/bytes/100", params={"seed": 42})

    rng = random.Random(42)  # httpbin draws the bytes from `random` seeded like this
    assert isinstance(response.content, bytes)
    assert response.content == bytes(rng.randint(0, 255) for _ in range(100))


def test_json(httpbin: Any) -> None:
    data = httpr.get(httpbin.url + "/json").json()

    assert isinstance(data, dict)
    assert data["slideshow"]["title"] == "Sample Slide Show"
    assert [slide["title"] for slide in data["slideshow"]["slides"]] == [
        "Wake up to WonderWidgets!",
        "Overview",
    ]


# -- headers -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def custom_headers_response(httpbin: Any) -> httpr.Response:
    return httpr.get(httpbin.url + "/response-headers", params={"X-Custom": "test"})


@pytest.mark.parametrize("name", ["x-custom", "X-Custom", "X-CUSTOM"])
def test_headers_getitem_is_case_insensitive(custom_headers_response: httpr.Response, name: str) -> None:
    assert custom_headers_response.headers[name] == "test"


def test_headers_getitem_missing_raises_key_error(custom_headers_response: httpr.Response) -> None:
    with pytest.raises(KeyError):
        custom_headers_response.headers["x-missing"]


def test_headers_get_and_contains(custom_headers_response: httpr.Response) -> None:
    headers = custom_headers_response.headers

    assert headers.get("Content-Type") == "application/json"
    assert headers.get("x-missing", "default") == "default"
    assert headers.get("X-CUSTOM", "default") == "test"
    assert "x-custom" in headers
    assert "X-Custom" in headers
    assert "x-missing" not in headers


def test_headers_get_missing_without_default_is_none(custom_headers_response: httpr.Response) -> None:
    assert custom_headers_response.headers.get("x-missing") is None


def test_headers_iteration_keys_values_items_agree(custom_headers_response: httpr.Response) -> None:
    headers = custom_headers_response.headers
    names = list(headers)
    items = list(headers.items())

    assert "x-custom" in [name.lower() for name in names]
    assert list(headers.keys()) == names
    assert list(headers.values()) == [value for _, value in items]
    assert [name for name, _ in items] == names
    assert ("x-custom", "test") in [(name.lower(), value) for name, value in items]


def test_repeated_headers_get_list_and_joined_value(local_server: LocalServer) -> None:
    headers = httpr.get(local_server.url("/multi")).headers

    assert headers.get_list("x-multi") == ["first", "second"]
    assert headers.get_list("X-Multi") == ["first", "second"]
    assert headers.get_list("x-missing") == []
    # Documented choice (as httpx): indexing joins repeated values with ", ".
    assert headers["x-multi"] == "first, second"
    assert headers.get("X-MULTI") == "first, second"


# -- cookies -------------------------------------------------------------------------------------


def test_cookies_from_set_cookie(httpbin: Any) -> None:
    with httpr.Client(follow_redirects=False) as client:
        response = client.get(httpbin.url + "/cookies/set", params={"name": "value"})

    assert response.status_code == 302
    assert response.cookies == {"name": "value"}


def test_cookies_set_during_redirects_are_kept(httpbin: Any) -> None:
    response = httpr.get(httpbin.url + "/cookies/set", params={"name": "value"})

    assert response.url == httpbin.url + "/cookies"
    assert response.json() == {"cookies": {"name": "value"}}


def test_cookies_from_repeated_set_cookie_headers(local_server: LocalServer) -> None:
    response = httpr.get(local_server.url("/multi"))

    assert response.cookies == {"alpha": "1", "beta": "2"}


def test_cookies_empty_when_none_set(httpbin: Any) -> None:
    assert httpr.get(httpbin.url + "/get").cookies == {}


# -- url -----------------------------------------------------------------------------------------


def test_url_is_final_url_after_redirects(httpbin: Any) -> None:
    response = httpr.get(httpbin.url + "/redirect/3")

    assert response.status_code == 200
    assert response.url == httpbin.url + "/get"


def test_url_includes_params(httpbin: Any) -> None:
    response = httpr.get(httpbin.url + "/get", params={"a": "1"})

    assert response.url == httpbin.url + "/get?a=1"


# -- encoding ------------------------------------------------------------------------------------


def test_encoding_utf8(httpbin: Any) -> None:
    response = httpr.get(httpbin.url + "/encoding/utf8")

    assert response.encoding == "utf-8"
    assert "∮ E⋅da = Q" in response.text


@pytest.mark.parametrize("charset", ["latin-1", "iso-8859-1", "ISO-8859-1"])
def test_text_decoded_with_declared_charset(local_server: LocalServer, charset: str) -> None:
    response = httpr.get(local_server.url(f"/charset/{charset}"))

    assert response.content == CHARSET_TEXT.encode("latin-1")
    assert response.text == CHARSET_TEXT
    assert response.encoding.lower() in {"latin-1", "iso-8859-1", "windows-1252"}
