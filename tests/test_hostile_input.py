"""Property-based hostile input (hypothesis): random URLs, headers, params, form data, cookies,
bodies and JSON thrown at ``httpr.Client`` against one local echo server.

Properties, for every example:

* no crash and no hang: every request has ``timeout=2`` (test_random_timeouts gives random
  ones, against a server that answers at once), and conftest's hang guard bounds each test;
* the only exceptions are ``httpr.HTTPError`` subclasses, ``httpr.InvalidURL``, ``TypeError``
  and ``ValueError`` (so never ``pyo3_runtime.PanicException`` or another BaseException such as
  SystemError), and never a Rust panic turned into an exception ("internal error in httpr");
* when the request succeeds, the echo server saw what was sent: the header values, the query
  parameters, the form fields, the Cookie header, the body bytes, the JSON document.

Examples are random locally and derandomized when ``CI`` is set, so CI is reproducible. Nothing
is written to disk (no example database).
"""

from __future__ import annotations

import collections.abc

import base64
import json
import math
import os
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import httpr
from hostile_servers import EchoServer
from servers import LocalServer

#: Every request's timeout, in seconds.
TIMEOUT = 2.0

#: What httpr may raise for bad input (UnicodeError is a ValueError).
ALLOWED = (httpr.HTTPError, httpr.InvalidURL, TypeError, ValueError)

#: Sized so the whole module runs well under 30 s.
EXAMPLES = 250

HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=bool(os.environ.get("CI")),
    # conftest's autouse hang guard is function-scoped on purpose: it bounds the whole test.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

T = TypeVar("T")


def attempt(call: Callable[[], T]) -> T | None:
    """``call()``, or None when it raised an allowed exception; anything else fails the test."""
    try:
        result = call()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the point is to see everything
        kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
        if "PanicException" in kind or not isinstance(exc, ALLOWED):
            raise AssertionError(f"httpr raised {kind}: {exc!r}") from exc
        assert "internal error in httpr" not in str(exc), f"a Rust panic: {exc}"
        event(f"raised {type(exc).__name__}")  # see --hypothesis-show-statistics
        return None
    event("sent")
    return result


@pytest.fixture(scope="module")
def echo() -> Iterator[LocalServer]:
    """The module's one echo server (``/echo/...`` answers with what it received)."""
    with EchoServer() as server:
        yield server


@pytest.fixture(scope="module")
def client() -> Iterator[httpr.Client]:
    # No cookie store: what a response sets must not leak into another example.
    with httpr.Client(timeout=TIMEOUT, cookie_store=False) as c:
        yield c


def echo_url(echo: LocalServer) -> str:
    return echo.url(f"/echo/{uuid.uuid4().hex}")


def seen(response: httpr.Response) -> dict[str, Any]:
    """What the echo server received (decoded body included)."""
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    payload["body"] = base64.b64decode(payload["body"])
    return payload


def seen_headers(payload: dict[str, Any], name: str) -> list[bytes]:
    """The raw bytes of every value of header ``name`` the server received."""
    return [v.encode("latin-1") for k, v in payload["headers"] if k.lower() == name.lower()]


# -- strategies --------------------------------------------------------------------------------

def weighted(*options: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Draw from one of ``options`` with the given weights (``one_of`` has none)."""
    slots = [i for i, (weight, _) in enumerate(options) for _ in range(weight)]
    return st.sampled_from(slots).flatmap(lambda i: options[i][1])


SURROGATES = st.sampled_from(["\ud800", "\udfff", "\udc80"])
#: Any character but a lone surrogate (hypothesis leaves them out; see SURROGATE_TEXT).
ANY_CHAR = st.characters()
PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
SPECIAL_CHAR = st.sampled_from(["\r", "\n", "\x00", "\t", "\x7f", "\x0b", "\x1b", " ", "é", "€", "\u2028", "\ufeff", "\x85"])
#: Mostly printable ASCII, sometimes a character that breaks protocols or is not ASCII.
NASTY_CHAR = weighted((6, PRINTABLE), (1, SPECIAL_CHAR))
#: Text with a lone surrogate, which cannot be encoded as UTF-8.
SURROGATE_TEXT = st.builds(lambda a, s, b: a + s + b, st.text(max_size=5), SURROGATES, st.text(max_size=5))


def texts(max_size: int = 40) -> st.SearchStrategy[str]:
    """Short text (mostly printable, sometimes any character), now and then huge (a repeated
    snippet of up to 280 000 characters). Lone surrogates come with JUNK (they would otherwise
    make most composite inputs fail the same way)."""
    nasty = st.text(NASTY_CHAR, max_size=max_size)
    anything = st.text(ANY_CHAR, max_size=max_size)
    huge = st.builds(lambda s, n: s * n, st.text(NASTY_CHAR, min_size=1, max_size=4), st.integers(5_000, 70_000))
    return weighted((8, nasty), (4, anything), (1, huge))


class Opaque:
    """An object httpr knows nothing about."""

    def __repr__(self) -> str:
        return "<Opaque>"


class WeirdStr(str):
    def __repr__(self) -> str:
        return f"WeirdStr({str.__repr__(self)})"


class WeirdInt(int):
    """An int whose str() is not a number (and contains CR/LF)."""

    def __str__(self) -> str:
        return "4\r\n2"

    def __repr__(self) -> str:
        return f"WeirdInt({int.__repr__(self)})"


class WeirdFloat(float):
    """A float whose str() is not a number (and contains NUL)."""

    def __str__(self) -> str:
        return "\x00nan\x00"

    def __repr__(self) -> str:
        return f"WeirdFloat({float.__repr__(self)})"


class WeirdMapping:
    """Not a dict, but has items()."""

    def __init__(self, pairs: list[tuple[Any, Any]]) -> None:
        self._pairs = pairs

    def items(self) -> list[tuple[Any, Any]]:
        return list(self._pairs)


NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
FLOATS = weighted((4, st.floats(allow_nan=True, allow_infinity=True)), (1, NON_FINITE))
BIG_INTS = st.one_of(st.integers(), st.integers(-(2**200), 2**200), st.sampled_from([2**63, 2**64, 2**127, -(2**127) - 1, 2**128, 10**400]))
SCALARS: st.SearchStrategy[Any] = weighted((4, texts()), (1, BIG_INTS), (1, FLOATS), (1, st.booleans()), (1, st.none()))
JUNK: st.SearchStrategy[Any] = st.one_of(
    SURROGATE_TEXT,
    st.binary(max_size=10),
    st.builds(bytearray, st.binary(max_size=10)),
    st.builds(Opaque),
    st.sets(st.integers(), max_size=3),
    st.frozensets(st.integers(), max_size=3),
    st.builds(WeirdInt, st.integers()),
    st.builds(WeirdFloat, st.floats()),
    st.builds(WeirdStr, texts()),
    st.complex_numbers(max_magnitude=10),
    st.just(Ellipsis),
    st.builds(lambda: iter([b"a", b"b"])),
    st.binary(max_size=10).map(lambda b: memoryview(b)),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.lists(st.integers(), max_size=2), max_size=2),
)


def hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def pairs_of(keys: st.SearchStrategy[Any], values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A mapping as a dict, a list of pairs, a tuple of pairs or an items()-only object."""
    as_list = st.lists(st.tuples(keys, values), max_size=6)
    return st.one_of(
        st.dictionaries(keys.filter(hashable), values, max_size=6),
        as_list,
        as_list.map(tuple),
        as_list.map(WeirdMapping),
    )


def mappings(keys: st.SearchStrategy[Any], values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly mappings of the documented types (random content), sometimes laced with junk
    keys and values of any type."""
    junky = pairs_of(weighted((3, keys), (1, JUNK)), weighted((3, values), (1, JUNK), (1, st.none())))
    return weighted((3, pairs_of(keys, values)), (1, junky))


def as_pairs(mapping: Any) -> list[tuple[Any, Any]]:
    if isinstance(mapping, dict):
        return list(mapping.items())
    if isinstance(mapping, WeirdMapping):
        return mapping.items()
    return list(mapping)


# -- URLs --------------------------------------------------------------------------------------

URL_PREFIXES = st.sampled_from(
    ["", "http://", "https://", "ftp://", "http://[", "http://127.0.0.1:", "http://user:pass@", "HTTP://", "http:", "//", "file:///"]
)
SCHEMES = st.sampled_from(["http", "http", "https", "HTTP", "hTTpS", "ftp", "file", "ws", "", "javascript", "h\ttp"])
HOSTS = weighted(
    (
        3,
        st.sampled_from(
            ["127.0.0.1", "localhost", "[::1]", "0", "0x7f.1", "999.1.1.1", "[", "[::1", "exa mple.com", "xn--",
             "a..b", "%41", "münchen.de", "example.com.", "a\x00b", "[fe80::1%25eth0]", "1.2.3.4.5", "\u3002"]
        ),
    ),
    (3, st.from_regex(r"\A[a-z0-9.-]{1,30}\Z")),
    (1, st.builds(lambda n: "a" * n, st.integers(60, 70_000))),
    (1, texts(30)),
)
PORTS = weighted(
    (3, st.just("")),
    (3, st.integers(-5, 70_000).map(lambda p: f":{p}")),
    (1, texts(6).map(lambda t: ":" + t)),
)
USERINFO = weighted((4, st.just("")), (1, st.builds(lambda u, p: f"{u}:{p}@", texts(8), texts(8))))
STRUCTURED_URLS = st.builds(
    lambda scheme, userinfo, host, port, rest: f"{scheme}://{userinfo}{host}{port}/{rest}",
    SCHEMES, USERINFO, HOSTS, PORTS, texts(100),
)
RANDOM_URLS = weighted(
    (2, texts(200)),
    (2, st.builds(lambda p, s: p + s, URL_PREFIXES, texts(200))),
    (6, STRUCTURED_URLS),
    (1, st.builds(lambda u, s: u + s, STRUCTURED_URLS, SURROGATE_TEXT)),
)
VALID_METHODS = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get", "pOsT"])
METHODS = weighted((6, VALID_METHODS), (1, texts(10)))


@HYPOTHESIS
@given(url=RANDOM_URLS, method=METHODS)
def test_random_urls_only_allowed_errors(echo: LocalServer, url: str, method: str) -> None:
    # Every connection goes to the echo server, used as an HTTP proxy: whatever host a random
    # URL names, nothing leaves the machine and no name is resolved.
    with httpr.Client(timeout=TIMEOUT, proxy=echo.base_url, cookie_store=False) as client:
        response = attempt(lambda: client.request(method, url, timeout=TIMEOUT))
    if response is not None:
        assert 100 <= response.status_code < 600
        assert response.url.lower().startswith(("http://", "https://"))


#: Path characters that are neither separators, nor escapes, nor the start of query/fragment.
PATH_CHAR = st.one_of(NASTY_CHAR, ANY_CHAR).filter(lambda c: c not in "/\\%?#")
QUERY_CHAR = st.one_of(NASTY_CHAR, ANY_CHAR).filter(lambda c: c not in "%#")


def without_tabs_and_newlines(s: str) -> str:
    """What the WHATWG URL parser keeps of a URL part: it drops tabs and newlines."""
    return s.replace("\t", "").replace("\n", "").replace("\r", "")


@HYPOTHESIS
@given(
    segment=st.text(PATH_CHAR, max_size=60),
    query=st.none() | st.text(QUERY_CHAR, max_size=60),
    fragment=st.none() | texts(30),
)
def test_random_url_path_and_query_reach_the_server(
    echo: LocalServer, client: httpr.Client, segment: str, query: str | None, fragment: str | None
) -> None:
    base = echo_url(echo)
    url = f"{base}/{segment}/end"
    if query is not None:
        url += f"?{query}&end=1"
    if fragment is not None:
        url += f"#{fragment}~"
    response = attempt(lambda: client.get(url, timeout=TIMEOUT))
    if response is None or response.status_code != 200:
        return
    got = seen(response)
    kept = without_tabs_and_newlines(segment)
    if kept in (".", ".."):
        return  # a dot segment, resolved away by the URL parser
    assert urllib.parse.unquote(got["path"], errors="strict") == f"{urllib.parse.urlsplit(base).path}/{kept}/end"
    if query is not None:
        assert urllib.parse.unquote(got["query"], errors="strict") == without_tabs_and_newlines(query) + "&end=1"
    else:
        assert got["query"] == ""


# -- headers -----------------------------------------------------------------------------------

TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: Names the client sets itself; a request header must replace the client's value.
OVERRIDABLE = ["User-Agent", "Accept", "Accept-Encoding", "Authorization", "Cookie", "Content-Type", "Referer", "Host"]
HEADER_NAMES = weighted(
    (4, st.text(st.sampled_from(TOKEN_CHARS), min_size=1, max_size=20).map(lambda s: "x-" + s)),
    (1, st.sampled_from(OVERRIDABLE)),
    (1, texts(20)),
)
HEADER_VALUES: st.SearchStrategy[Any] = weighted((6, texts()), (1, st.integers()), (1, FLOATS), (1, st.booleans()))


def header_wire_value(value: Any) -> bytes:
    """What the server should receive for a header value (UTF-8; numbers as str())."""
    return str(value).encode("utf-8").strip(b" \t")


@HYPOTHESIS
@given(headers=mappings(HEADER_NAMES, HEADER_VALUES))
def test_random_headers(echo: LocalServer, client: httpr.Client, headers: Any) -> None:
    response = attempt(lambda: client.get(echo_url(echo), headers=headers, timeout=TIMEOUT))
    if response is None or response.status_code != 200:
        return
    got = seen(response)
    expected: dict[str, list[Any]] = {}
    for name, value in as_pairs(headers):
        expected.setdefault(name.lower(), []).append(value)  # a repeated name sends each value, in order (httpx)
    for name, values in expected.items():
        assert [v.strip(b" \t") for v in seen_headers(got, name)] == [header_wire_value(v) for v in values], name


# -- params and form data ----------------------------------------------------------------------


def form_str(value: Any) -> str:
    """How a param/form scalar is written (docs: numbers as str, booleans true/false, None empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def expected_pairs(mapping: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in as_pairs(mapping):
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        out.extend((form_str(key), form_str(v)) for v in values)
    return out


PARAM_KEYS: st.SearchStrategy[Any] = weighted(
    (6, texts(20)), (1, st.integers()), (1, FLOATS), (1, st.booleans()), (1, st.none())
)
PARAM_VALUES: st.SearchStrategy[Any] = weighted(
    (6, SCALARS),
    (1, st.lists(SCALARS, max_size=3)),
    (1, st.tuples(SCALARS, SCALARS)),
    (1, st.lists(weighted((4, SCALARS), (1, JUNK)), max_size=3)),
)


@HYPOTHESIS
@given(params=mappings(PARAM_KEYS, PARAM_VALUES))
def test_random_params(echo: LocalServer, client: httpr.Client, params: Any) -> None:
    response = attempt(lambda: client.get(echo_url(echo), params=params, timeout=TIMEOUT))
    if response is None or response.status_code != 200:
        return
    got = seen(response)
    query = urllib.parse.parse_qsl(got["query"], keep_blank_values=True, errors="strict")
    assert query == expected_pairs(params)


@HYPOTHESIS
@given(data=mappings(PARAM_KEYS, PARAM_VALUES))
def test_random_form_data(echo: LocalServer, client: httpr.Client, data: Any) -> None:
    response = attempt(lambda: client.post(echo_url(echo), data=data, timeout=TIMEOUT))
    if response is None or response.status_code != 200:
        return
    got = seen(response)
    assert seen_headers(got, "content-type") == [b"application/x-www-form-urlencoded"]
    body = urllib.parse.parse_qsl(got["body"].decode("ascii"), keep_blank_values=True, errors="strict")
    assert body == expected_pairs(data)


# -- cookies -----------------------------------------------------------------------------------

COOKIE_VALUES: st.SearchStrategy[Any] = weighted((6, texts()), (1, st.integers()), (1, FLOATS))


@HYPOTHESIS
@given(cookies=mappings(texts(20), COOKIE_VALUES))
def test_random_cookies(echo: LocalServer, client: httpr.Client, cookies: Any) -> None:
    response = attempt(lambda: client.get(echo_url(echo), cookies=cookies, timeout=TIMEOUT))
    if response is None or response.status_code != 200:
        return
    got = seen(response)
    merged: dict[str, Any] = {}
    for name, value in as_pairs(cookies):
        merged[name] = value  # later values win, first position kept (dict order)
    if not merged:
        assert seen_headers(got, "cookie") == []
        return
    expected = "; ".join(f"{name}={value}" for name, value in merged.items())
    assert [v.strip(b" \t") for v in seen_headers(got, "cookie")] == [expected.encode("utf-8").strip(b" \t")]


# -- bodies ------------------------------------------------------------------------------------

CONTENT: st.SearchStrategy[Any] = weighted(
    (3, st.binary(max_size=200)),
    (1, st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=8), st.integers(10_000, 200_000))),
    (3, texts(200)),
    (1, st.builds(bytearray, st.binary(max_size=100))),
    (2, JUNK),
    (1, SCALARS),
    (1, st.lists(st.binary(max_size=5), max_size=3)),
)


def content_bytes(content: Any) -> bytes:
    if content is None:
        return b""
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, (list, tuple, set, frozenset)):  # an iterable of bytes is joined, in iteration order
        return b"".join(content)
    assert isinstance(content, (bytes, bytearray, memoryview))
    return bytes(content)


@HYPOTHESIS
@given(content=CONTENT, method=st.sampled_from(["POST", "PUT", "PATCH", "DELETE"]))
def test_random_content(echo: LocalServer, client: httpr.Client, content: Any, method: str) -> None:
    expected: bytes | None = None
    if isinstance(content, collections.abc.Iterator):
        # The request consumes an iterator: keep its items to compare with.
        items = list(content)
        content = iter(items)
        if all(isinstance(i, (bytes, bytearray)) for i in items):
            expected = b"".join(items)
    response = attempt(lambda: client.request(method, echo_url(echo), content=content, timeout=TIMEOUT))
    if response is None or response.status_code != 200:
        return
    got = seen(response)
    assert got["method"] == method
    assert got["body"] == (expected if expected is not None else content_bytes(content))


# -- JSON --------------------------------------------------------------------------------------

JSON_KEYS: st.SearchStrategy[Any] = weighted(
    (4, texts(20)), (1, BIG_INTS), (1, FLOATS), (1, st.booleans()), (1, st.none()), (1, JUNK.filter(hashable))
)
JSON_LEAVES: st.SearchStrategy[Any] = weighted(
    (1, st.none()), (1, st.booleans()), (2, BIG_INTS), (2, FLOATS), (4, texts())
)


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def cyclic() -> list[Any]:
    value: list[Any] = [1]
    value.append(value)
    return value


def json_values(keys: st.SearchStrategy[Any], leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.recursive(
            leaves,
            lambda children: st.one_of(
                st.lists(children, max_size=4),
                st.lists(children, max_size=3).map(tuple),
                st.dictionaries(keys, children, max_size=4),
            ),
            max_leaves=20,
        ),
        st.integers(0, 2000).map(nested),
        st.builds(cyclic),
    )


#: Random values in str-keyed containers, sometimes with junk (bytes, sets, objects) inside.
JSON_VALUES = weighted(
    (3, json_values(texts(20), JSON_LEAVES)),
    (1, json_values(texts(20), weighted((4, JSON_LEAVES), (1, JUNK)))),
)
#: Dicts with keys of every kind (str, numbers, booleans, None, junk) and plain values.
JSON_KEYED = st.dictionaries(JSON_KEYS, st.one_of(st.none(), st.integers(), texts(10)), min_size=1, max_size=6)


def same_json(a: Any, b: Any) -> bool:
    """Deep equality where NaN equals NaN (a NaN sent must arrive as NaN)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def check_json_arrived(echo: LocalServer, client: httpr.Client, value: Any) -> None:
    """Send ``json=value``; if httpr accepts it, the server must get the document the standard
    library writes (what httpx sends; NaN and Infinity as such), parsed back to the same value.
    """
    response = attempt(lambda: client.post(echo_url(echo), json=value, timeout=TIMEOUT))
    if response is None or response.status_code != 200:
        return
    got = seen(response)
    if value is None:  # json=None is the same as leaving json out (as in httpx)
        assert (seen_headers(got, "content-type"), got["body"]) == ([], b"")
        return
    assert seen_headers(got, "content-type") == [b"application/json"]
    reference = json.loads(json.dumps(value))
    arrived = json.loads(got["body"])
    assert same_json(arrived, reference), f"sent {value!r}, server got {got['body']!r}"


@HYPOTHESIS
@example(value=math.nan)
@example(value={"a": [math.inf, -math.inf]})
@given(value=JSON_VALUES)
def test_random_json(echo: LocalServer, client: httpr.Client, value: Any) -> None:
    check_json_arrived(echo, client, value)


@HYPOTHESIS
@given(value=JSON_KEYED)
def test_random_json_keys(echo: LocalServer, client: httpr.Client, value: Any) -> None:
    check_json_arrived(echo, client, value)


@HYPOTHESIS
@given(value=st.one_of(JSON_VALUES, JSON_KEYED))
def test_random_json_as_cbor(echo: LocalServer, client: httpr.Client, value: Any) -> None:
    headers = {"Accept": "application/cbor"}
    response = attempt(lambda: client.post(echo_url(echo), json=value, headers=headers, timeout=TIMEOUT))
    if response is None or response.status_code != 200:
        return
    got = seen(response)
    if value is None:
        assert (seen_headers(got, "content-type"), got["body"]) == ([], b"")
        return
    assert seen_headers(got, "content-type") == [b"application/cbor"]
    assert got["body"] != b""


# -- timeouts ----------------------------------------------------------------------------------

TIMEOUTS: st.SearchStrategy[Any] = weighted(
    (4, st.floats()),
    (1, st.floats(min_value=1e9)),
    (1, st.sampled_from([math.nan, math.inf, -math.inf, 1.8446744073709552e19, 1e300, -0.0, 5e-324])),
    (2, BIG_INTS),
    (1, st.booleans()),
    (1, JUNK),
)


@HYPOTHESIS
@example(timeout=1.8446744073709552e19, where="request")  # Duration::from_secs_f64 panics
@example(timeout=10**400, where="request")  # does not fit a float
@example(timeout=10**400, where="constructor")
@given(timeout=TIMEOUTS, where=st.sampled_from(["constructor", "setter", "request"]))
def test_random_timeouts(echo: LocalServer, timeout: Any, where: str) -> None:
    def send() -> httpr.Response:
        if where == "constructor":
            client = httpr.Client(timeout=timeout, cookie_store=False)
        else:
            client = httpr.Client(timeout=TIMEOUT, cookie_store=False)
            if where == "setter":
                client.timeout = timeout
        with client:
            if where == "request":
                return client.get(echo_url(echo), timeout=timeout)
            return client.get(echo_url(echo))

    # A tiny timeout fails with a TimeoutException; a huge one must not wait (the server answers
    # at once), and neither may panic.
    response = attempt(send)
    if response is not None:
        assert response.status_code == 200


# -- everything at once ------------------------------------------------------------------------


@HYPOTHESIS
@given(
    headers=st.none() | mappings(HEADER_NAMES, HEADER_VALUES),
    params=st.none() | mappings(PARAM_KEYS, PARAM_VALUES),
    cookies=st.none() | mappings(texts(10), COOKIE_VALUES),
    auth=weighted((3, st.none()), (3, st.tuples(texts(10), st.none() | texts(10))), (1, JUNK)),
    auth_bearer=weighted((3, st.none()), (3, texts(30)), (1, JUNK)),
    body=st.sampled_from(["content", "data", "json", "none"]),
    payload=weighted((1, CONTENT), (1, JSON_VALUES), (1, JSON_KEYED), (1, mappings(PARAM_KEYS, PARAM_VALUES))),
    timeout=weighted(
        (6, st.just(TIMEOUT)),
        (1, st.floats(-1, TIMEOUT)),
        (1, st.sampled_from([math.nan, math.inf, -math.inf, 1e19, 1e300, -1e300, 2**64, 10**400])),
        (1, st.floats(min_value=1e6)),
        (1, st.none()),
        (1, JUNK),
    ),
)
def test_random_everything(
    echo: LocalServer,
    client: httpr.Client,
    headers: Any,
    params: Any,
    cookies: Any,
    auth: Any,
    auth_bearer: Any,
    body: str,
    payload: Any,
    timeout: Any,
) -> None:
    kwargs: dict[str, Any] = {"headers": headers, "params": params, "cookies": cookies, "auth": auth}
    kwargs["auth_bearer"] = auth_bearer
    if body != "none":
        kwargs[body] = payload
    if timeout is None:
        timeout = TIMEOUT  # None would mean no timeout at all
    elif isinstance(timeout, float) and not math.isnan(timeout) and timeout >= 0:
        timeout = max(timeout, 0.5)  # a valid timeout must leave time for the echo server
    response = attempt(lambda: client.post(echo_url(echo), timeout=timeout, **kwargs))
    if response is not None:
        assert 100 <= response.status_code < 600
