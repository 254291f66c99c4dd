"""requests' exception names, mapped onto httpr's tree, for ``import httpr as requests`` code:
``except requests.exceptions.ConnectionError`` (or ``requests.ConnectionError``) keeps working.

| requests | httpr |
| --- | --- |
| ``RequestException`` | ``HTTPError``, the base of everything httpr raises about a request |
| ``HTTPError`` (from ``raise_for_status()``) | ``HTTPStatusError`` |
| ``ConnectionError`` | ``TransportError`` (network, TLS, protocol, proxy, timeouts) |
| ``Timeout`` | ``TimeoutException`` (also the built-in ``TimeoutError``) |
| ``ConnectTimeout``, ``ReadTimeout``, ``SSLError``, ``ProxyError``, ``TooManyRedirects``, ``JSONDecodeError``, ``InvalidURL`` | the httpr classes of those names |
| ``ContentDecodingError`` | ``DecodingError`` |
| ``ChunkedEncodingError`` | ``RemoteProtocolError`` |
| ``InvalidSchema`` | ``UnsupportedProtocol`` |
| ``MissingSchema``, ``InvalidHeader`` | ``InvalidURL``, ``LocalProtocolError`` |
| ``StreamConsumedError`` | ``StreamConsumed`` |
"""

from __future__ import annotations

from ._exceptions import (
    ConnectTimeout,
    DecodingError,
    HTTPStatusError,
    InvalidURL,
    JSONDecodeError,
    LocalProtocolError,
    ProxyError,
    ReadTimeout,
    RemoteProtocolError,
    SSLError,
    StreamConsumed,
    TimeoutException,
    TooManyRedirects,
    TransportError,
    UnsupportedProtocol,
)
from ._exceptions import HTTPError as RequestException

HTTPError = HTTPStatusError
ConnectionError = TransportError  # noqa: A001 - requests' name, shadowing the builtin on purpose
Timeout = TimeoutException
ContentDecodingError = DecodingError
ChunkedEncodingError = RemoteProtocolError
InvalidSchema = UnsupportedProtocol
MissingSchema = InvalidURL
InvalidHeader = LocalProtocolError
StreamConsumedError = StreamConsumed

__all__ = [
    "ChunkedEncodingError",
    "ConnectTimeout",
    "ConnectionError",
    "ContentDecodingError",
    "HTTPError",
    "InvalidHeader",
    "InvalidSchema",
    "InvalidURL",
    "JSONDecodeError",
    "MissingSchema",
    "ProxyError",
    "ReadTimeout",
    "RequestException",
    "SSLError",
    "StreamConsumedError",
    "Timeout",
    "TooManyRedirects",
]
