"""Bad input: each case is a clear Python exception (class and message), never a panic or a hang.

Where a request could have been sent, the tests also check that nothing reached the server.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any, Union

import pytest

import httpr
from servers import LocalServer

# Every request below that is expected to fail quickly carries this, so a regression shows up
# as a failure rather than a stuck run (conftest's hang_guard is the backstop).
QUICK = 5.0


def bad(value: object) -> Any:
    """Pass a deliberately wrong value past the type checker."""
    return value


@pytest.fixture
def client() -> Iterator[httpr.Client]:
    with httpr.Client(timeout=QUICK) as c:
        yield c


# -- URLs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://", "not a url", "http://exa mple.com", "http://127.0.0.1:99999/"])
def test_invalid_url(client: httpr.Client, url: str) -> None:
    with pytest.raises(httpr.InvalidURL) as info:
        client.get(url)

    assert url in str(info.value)


@pytest.mark.parametrize(("url", "scheme"), [("ftp://127.0.0.1/x", "ftp"), ("file:///tmp/x", "file")])
def test_unsupported_scheme(client: httpr.Client, url: str, scheme: str) -> None:
    with pytest.raises(httpr.UnsupportedProtocol) as info:
        client.get(url)

    assert scheme in str(info.value)


def test_invalid_url_via_module_function() -> None:
    with pytest.raises(httpr.InvalidURL, match="not a url"):
        httpr.get("not a url", timeout=QUICK)


def test_connection_refused(client: httpr.Client, refused_url: str) -> None:
    started = time.monotonic()
    with pytest.raises(httpr.ConnectError) as info:
        client.get(refused_url)

    assert time.monotonic() - started < QUICK
    for ancestor in (httpr.NetworkError, httpr.TransportError, httpr.RequestError, httpr.HTTPError):
        assert isinstance(info.value, ancestor)
    assert refused_url in str(info.value)


# -- response decoding ---------------------------------------------------------------------------


def test_json_on_non_json_body(local_server: LocalServer) -> None:
    response = httpr.get(local_server.url("/not-json"), timeout=QUICK)

    with pytest.raises(httpr.JSONDecodeError) as info:
        response.json()

    error = info.value
    assert isinstance(error, json.JSONDecodeError)
    assert isinstance(error, httpr.DecodingError)
    assert (error.lineno, error.colno) == (1, 1)
    assert "line 1 column 1" in str(error)


# -- argument types and values -------------------------------------------------------------------

# (id, call(client, url), what the message must contain: each entry is a word, or a tuple of
# alternatives of which one must appear)
Words = list[Union[str, tuple[str, ...]]]
WRONG_TYPES: list[tuple[str, Callable[[httpr.Client, str], object], Words]] = [
    ("url-int", lambda c, url: c.get(bad(123)), ["int"]),
    ("headers-int", lambda c, url: c.get(url, headers=bad(5)), ["int"]),
    ("timeout-str", lambda c, url: c.get(url, timeout=bad("abc")), ["str"]),
    ("params-value-object", lambda c, url: c.get(url, params=bad({"a": object()})), [("'a'", '"a"'), "object"]),
    ("client-timeout-str", lambda c, url: httpr.Client(timeout=bad("x")), ["str"]),
]


@pytest.mark.parametrize(
    ("call", "words"), [case[1:] for case in WRONG_TYPES], ids=[case[0] for case in WRONG_TYPES]
)
def test_wrong_argument_type_is_type_error(
    client: httpr.Client,
    local_server: LocalServer,
    echo_path: str,
    call: Callable[[httpr.Client, str], object],
    words: Words,
) -> None:
    with pytest.raises(TypeError) as info:
        call(client, local_server.url(echo_path))

    message = str(info.value)
    for word in words:
        alternatives = (word,) if isinstance(word, str) else word
        assert any(w in message for w in alternatives), f"none of {alternatives} in {message!r}"
    assert local_server.received(echo_path) == []


@pytest.mark.parametrize("value", [-1, -0.001, float("nan")], ids=["-1", "-0.001", "nan"])
@pytest.mark.parametrize("where", ["client", "request"])
def test_negative_or_nan_timeout_is_value_error(
    local_server: LocalServer, echo_path: str, where: str, value: float
) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        if where == "client":
            httpr.Client(timeout=value)
        else:
            httpr.get(local_server.url(echo_path), timeout=value)

    assert local_server.received(echo_path) == []


@pytest.mark.parametrize("method", ["FOO BAR", "BREW", ""])
@pytest.mark.parametrize("via", ["client", "module"])
def test_unknown_method_is_value_error(
    client: httpr.Client, local_server: LocalServer, echo_path: str, method: str, via: str
) -> None:
    request: Callable[..., httpr.Response] = client.request if via == "client" else httpr.request

    with pytest.raises(ValueError, match="Unsupported HTTP method"):
        request(method, local_server.url(echo_path))

    assert local_server.received(echo_path) == []


@pytest.mark.parametrize("value", ["a\r\nInjected: 1", "a\nInjected: 1", "a\rInjected: 1"])
def test_header_value_with_line_break_is_rejected(
    client: httpr.Client, local_server: LocalServer, echo_path: str, value: str
) -> None:
    with pytest.raises((httpr.LocalProtocolError, ValueError)) as info:
        client.get(local_server.url(echo_path), headers={"X-A": value})

    assert "x-a" in str(info.value).lower()
    assert local_server.received(echo_path) == []


# -- closed client -------------------------------------------------------------------------------


def test_request_after_close_reopens_with_warning(local_server: LocalServer, echo_path: str) -> None:
    client = httpr.Client(timeout=QUICK)
    client.close()

    with pytest.warns(httpr.ClientReopenedWarning, match="reopening"):
        response = client.get(local_server.url(echo_path))

    assert response.status_code == 200
    assert len(local_server.received(echo_path)) == 1
    client.close()


def test_request_after_close_with_warning_as_error_sends_nothing(
    local_server: LocalServer, echo_path: str
) -> None:
    client = httpr.Client(timeout=QUICK)
    client.close()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(httpr.ClientReopenedWarning, match="reopening"):
            client.get(local_server.url(echo_path))

    assert local_server.received(echo_path) == []


# -- every request error says which request failed -----------------------------------------------


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("refused", httpr.ConnectError),
        ("timeout", httpr.ReadTimeout),
        ("scheme", httpr.UnsupportedProtocol),
    ],
)
def test_request_error_carries_the_request(
    local_server: LocalServer, refused_url: str, case: str, expected: type[httpr.RequestError]
) -> None:
    method, url, timeout = {
        "refused": ("GET", refused_url, QUICK),
        "timeout": ("POST", local_server.url("/slow?seconds=3"), 0.3),
        "scheme": ("PUT", "ftp://127.0.0.1/x", QUICK),
    }[case]

    with pytest.raises(expected) as info:
        httpr.request(bad(method), url, timeout=timeout)

    request = info.value.request
    assert request is not None, f"{type(info.value).__name__} has no .request"
    assert request.method == method
    assert str(request.url) == url
