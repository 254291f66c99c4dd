"""The exception hierarchy (names and bases), as httpr 0.7.8 users rely on it."""

from __future__ import annotations

import json

import pytest

import httpr

# (class name, parent). A parent given as a string is an httpr class and must be a DIRECT base;
# a builtin parent only has to be an ancestor.
DIRECT_PARENTS: list[tuple[str, str | type[BaseException]]] = [
    ("HTTPError", Exception),
    ("RequestError", "HTTPError"),
    ("TransportError", "RequestError"),
    ("NetworkError", "TransportError"),
    ("ConnectError", "NetworkError"),
    ("ReadError", "NetworkError"),
    ("WriteError", "NetworkError"),
    ("CloseError", "NetworkError"),
    ("TimeoutException", "TransportError"),
    ("TimeoutException", TimeoutError),
    ("ConnectTimeout", "TimeoutException"),
    ("ReadTimeout", "TimeoutException"),
    ("WriteTimeout", "TimeoutException"),
    ("PoolTimeout", "TimeoutException"),
    ("ProtocolError", "TransportError"),
    ("LocalProtocolError", "ProtocolError"),
    ("RemoteProtocolError", "ProtocolError"),
    ("UnsupportedProtocol", "TransportError"),
    ("ProxyError", "TransportError"),
    ("TooManyRedirects", "RequestError"),
    ("DecodingError", "RequestError"),
    ("JSONDecodeError", "DecodingError"),
    ("JSONDecodeError", json.JSONDecodeError),
    ("HTTPStatusError", "HTTPError"),
    ("StreamError", Exception),
    ("StreamConsumed", "StreamError"),
    ("ResponseNotRead", "StreamError"),
    ("RequestNotRead", "StreamError"),
    ("StreamClosed", "StreamError"),
    ("InvalidURL", Exception),
    ("CookieConflict", Exception),
    ("ClientClosed", RuntimeError),
    ("ClientReopenedWarning", ResourceWarning),
]

# Classes that must NOT be HTTPErrors (so `except httpr.HTTPError` does not swallow them).
NOT_HTTP_ERRORS = [
    "StreamError",
    "StreamConsumed",
    "ResponseNotRead",
    "RequestNotRead",
    "StreamClosed",
    "InvalidURL",
    "CookieConflict",
    "ClientClosed",
    "ClientReopenedWarning",
]


def resolve(parent: str | type[BaseException]) -> type[BaseException]:
    if isinstance(parent, str):
        cls: type[BaseException] = getattr(httpr, parent)
        return cls
    return parent


def parent_id(parent: str | type[BaseException]) -> str:
    if isinstance(parent, str):
        return parent
    return f"{parent.__module__}.{parent.__qualname__}".removeprefix("builtins.")


@pytest.mark.parametrize(
    ("name", "parent"),
    DIRECT_PARENTS,
    ids=[f"{name}<-{parent_id(parent)}" for name, parent in DIRECT_PARENTS],
)
def test_parent(name: str, parent: str | type[BaseException]) -> None:
    cls = getattr(httpr, name)

    assert isinstance(cls, type)
    if isinstance(parent, str):
        assert resolve(parent) in cls.__bases__, f"{name} bases are {cls.__bases__}"
    else:
        assert issubclass(cls, parent), f"{name} MRO is {cls.__mro__}"


@pytest.mark.parametrize("name", NOT_HTTP_ERRORS)
def test_not_an_http_error(name: str) -> None:
    assert not issubclass(getattr(httpr, name), httpr.HTTPError)


@pytest.mark.parametrize("name", sorted({name for name, _ in DIRECT_PARENTS}))
def test_exported_in_all(name: str) -> None:
    assert name in httpr.__all__


def test_connect_error_is_caught_by_every_ancestor() -> None:
    for ancestor in (httpr.NetworkError, httpr.TransportError, httpr.RequestError, httpr.HTTPError):
        assert issubclass(httpr.ConnectError, ancestor)
    assert not issubclass(httpr.ConnectError, httpr.TimeoutException)


def test_read_timeout_is_a_builtin_timeout_error() -> None:
    assert issubclass(httpr.ReadTimeout, TimeoutError)
    assert issubclass(httpr.ReadTimeout, httpr.TransportError)
