"""Tests for httpr.URL / httpr.QueryParams (`_urls.py`) and httpr.Cookies (`_cookies.py`).

Expected values marked "httpx" were produced by httpx 0.28.1 on the same input;
the few places where httpr deliberately differs say so.
"""

from __future__ import annotations

import copy
import json
import pickle
from http.cookiejar import Cookie, CookieJar
from typing import Any

import pytest

import httpr
from httpr._cookies import Cookies
from httpr._urls import URL, QueryParams

# --------------------------------------------------------------------------- URL: str compatibility


def test_url_is_a_str_equal_to_its_text() -> None:
    url = URL("http://a/b")
    assert isinstance(url, str)
    assert url == "http://a/b"
    assert "http://a/b" == url
    assert url != "http://a/c"
    assert url.endswith("/b") and url.startswith("http://")
    assert "://a" in url
    assert f"<{url}>" == "<http://a/b>"
    assert url + "?x=1" == "http://a/b?x=1"
    assert type(str(url)) is str and str(url) == "http://a/b"


def test_url_hashes_as_its_str() -> None:
    url = URL("http://a/b")
    assert hash(url) == hash("http://a/b")
    assert {"http://a/b": 1}[url] == 1
    by_url: dict[str, int] = {url: 2}
    assert by_url["http://a/b"] == 2
    assert len({url, "http://a/b", URL("http://a/b")}) == 1


def test_url_json_dumps_as_a_string() -> None:
    assert json.dumps({"u": URL("https://example.org/x?y=1")}) == '{"u": "https://example.org/x?y=1"}'


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_url_pickle_round_trip(protocol: int) -> None:
    url = URL("https://u:p@example.org:8443/a%20b?q=1#frag")
    restored = pickle.loads(pickle.dumps(url, protocol=protocol))
    assert type(restored) is URL
    assert restored == url
    assert (restored.host, restored.port, restored.password, restored.fragment) == ("example.org", 8443, "p", "frag")


def test_url_copy_and_deepcopy_keep_the_type() -> None:
    url = URL("https://example.org/x")
    for duplicate in (copy.copy(url), copy.deepcopy(url)):
        assert type(duplicate) is URL and duplicate == url and duplicate.host == "example.org"


def test_url_from_url_is_an_equal_url() -> None:
    url = URL("https://example.org/x?a=1")
    again = URL(url)
    assert type(again) is URL and again == url and again.params == {"a": "1"}


def test_url_default_is_empty() -> None:
    url = URL()
    assert url == "" and url.path == "/" and url.is_relative_url


def test_url_rejects_a_non_str() -> None:
    with pytest.raises(TypeError, match=r"Invalid type for url\. Expected str or httpr\.URL, got <class 'int'>: 123"):
        URL(123)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Invalid type for url"):
        URL(b"http://a/")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- URL: parsing (values from httpx)


# (input, str, scheme, host, port, path, raw_path, query, fragment)
PARSE_CASES = [
    ("http://a.com", "http://a.com", "http", "a.com", None, "/", b"/", b"", ""),
    ("https://a.com:443/x", "https://a.com/x", "https", "a.com", None, "/x", b"/x", b"", ""),
    ("https://a.com:8443/x", "https://a.com:8443/x", "https", "a.com", 8443, "/x", b"/x", b"", ""),
    ("HTTPS://A.COM/", "https://a.com/", "https", "a.com", None, "/", b"/", b"", ""),
    ("ftp://a.com:21/", "ftp://a.com/", "ftp", "a.com", None, "/", b"/", b"", ""),
    ("ws://a.com:80", "ws://a.com", "ws", "a.com", None, "/", b"/", b"", ""),
    ("wss://h:443", "wss://h", "wss", "h", None, "/", b"/", b"", ""),
    ("http://a.com:0", "http://a.com:0", "http", "a.com", 0, "/", b"/", b"", ""),
    ("http://A.com:/x", "http://a.com/x", "http", "a.com", None, "/x", b"/x", b"", ""),
    ("http://127.0.0.1:80/", "http://127.0.0.1/", "http", "127.0.0.1", None, "/", b"/", b"", ""),
    ("http://[::1]:8080/x", "http://[::1]:8080/x", "http", "::1", 8080, "/x", b"/x", b"", ""),
    ("http://[::1]", "http://[::1]", "http", "::1", None, "/", b"/", b"", ""),
    ("http://a.com?x", "http://a.com?x", "http", "a.com", None, "/", b"/?x", b"x", ""),
    ("http://a.com/?", "http://a.com/?", "http", "a.com", None, "/", b"/?", b"", ""),
    ("http://a.com#f", "http://a.com#f", "http", "a.com", None, "/", b"/", b"", "f"),
    ("http://a.com/#", "http://a.com/#", "http", "a.com", None, "/", b"/", b"", ""),
    ("/relative?x=1", "/relative?x=1", "", "", None, "/relative", b"/relative?x=1", b"x=1", ""),
    ("a/b", "a/b", "", "", None, "a/b", b"a/b", b"", ""),
    ("?a=1", "?a=1", "", "", None, "/", b"/?a=1", b"a=1", ""),
    ("#f", "#f", "", "", None, "/", b"/", b"", "f"),
    ("//a.com/x", "//a.com/x", "", "a.com", None, "/x", b"/x", b"", ""),
    ("mailto:joe@example.com", "mailto:joe@example.com", "mailto", "", None, "joe@example.com", b"joe@example.com", b"", ""),
    ("localhost:8000", "localhost:8000", "localhost", "", None, "8000", b"8000", b"", ""),
    ("ht tp://a.com", "ht%20tp://a.com", "", "", None, "ht tp://a.com", b"ht%20tp://a.com", b"", ""),
    ("http://a.com./", "http://a.com./", "http", "a.com.", None, "/", b"/", b"", ""),
]


@pytest.mark.parametrize(("text", "string", "scheme", "host", "port", "path", "raw_path", "query", "fragment"), PARSE_CASES)
def test_url_components(
    text: str, string: str, scheme: str, host: str, port: int | None, path: str, raw_path: bytes, query: bytes, fragment: str
) -> None:
    url = URL(text)
    assert (url, url.scheme, url.host, url.port, url.path, url.raw_path, url.query, url.fragment) == (
        string,
        scheme,
        host,
        port,
        path,
        raw_path,
        query,
        fragment,
    )


def test_url_userinfo_components() -> None:
    url = URL("http://u%40x:p%3A@a.com/")
    assert (url.userinfo, url.username, url.password, url.netloc) == (b"u%40x:p%3A", "u@x", "p:", b"a.com")
    assert URL("http://user@a.com").userinfo == b"user"
    assert (URL("http://:pw@a.com").username, URL("http://:pw@a.com").password) == ("", "pw")
    assert URL("http://user:@a.com") == "http://user:@a.com"
    assert URL("http://@a.com") == "http://a.com"  # an empty userinfo is dropped (httpx)
    assert URL("http://A.COM@B.COM") == "http://A.COM@b.com"  # only the host is lower-cased
    assert URL("http://a@b@c.com/").username == "a@b"  # the last "@" ends the userinfo


def test_url_netloc() -> None:
    assert URL("http://[::1]:8080/x").netloc == b"[::1]:8080"
    assert URL("https://a.com:8443").netloc == b"a.com:8443"
    assert URL("https://u:p@a.com:443").netloc == b"a.com"
    assert URL("/x").netloc == b""


@pytest.mark.parametrize(
    ("text", "absolute"),
    [("http://a.com", True), ("//a.com/x", False), ("/x", False), ("mailto:a@b", False), ("file:///etc/passwd", False)],
)
def test_url_is_absolute_needs_scheme_and_host(text: str, absolute: bool) -> None:
    url = URL(text)
    assert (url.is_absolute_url, url.is_relative_url) == (absolute, not absolute)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://u:p@a.com/p a?q=a b&c=%20#fr ag", "http://u:p@a.com/p%20a?q=a%20b&c=%20#fr%20ag"),
        ("http://u s:p w@a.com", "http://u%20s:p%20w@a.com"),
        ("http://a.com/[]{}|\\^`\"<>", "http://a.com/[]%7B%7D|\\^%60%22%3C%3E"),
        ("http://a.com/?[]{}|\\^`\"<>'+,;=:@/?", "http://a.com/?[]{}|\\^`%22%3C%3E'+,;=:@/?"),
        ("http://a.com/#[]{}|\\^`\"<>'#?", "http://a.com/#[]{}|\\^%60%22%3C%3E'#?"),
        ("http://a.com/!$&'()*+,;=:@~-._", "http://a.com/!$&'()*+,;=:@~-._"),
        ("http://a.com/ü?ü=ü", "http://a.com/%C3%BC?%C3%BC=%C3%BC"),
        ("http://a.com/a%20b c", "http://a.com/a%20b%20c"),
        ("http://a.com/100% x", "http://a.com/100%%20x"),
        ("http://a.com/?q=%zz x", "http://a.com/?q=%zz%20x"),
        ("http://a b.com", "http://a%20b.com"),
        ("http://a.com/%7Efoo/%2F", "http://a.com/%7Efoo/%2F"),
    ],
)
def test_url_percent_encoding_matches_httpx(text: str, expected: str) -> None:
    url = URL(text)
    assert url == expected
    assert URL(url) == expected  # encoding an encoded URL changes nothing


def test_url_path_and_fragment_are_decoded() -> None:
    assert URL("http://a.com/%7Efoo/%2F").path == "/~foo//"
    assert URL("http://a.com/%e2%82%ac").path == "/€"
    assert URL("http://a.com/%zz%41").path == "/%zzA"
    assert URL("http://a.com/x#a%20b").fragment == "a b"
    assert URL("http://a.com/p a?x=1").raw_path == b"/p%20a?x=1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http://a.com/a/../b/./c", "http://a.com/b/c"),
        ("http://a.com/a/./b/../../c/", "http://a.com/c/"),
        ("//a.com/a/../b", "//a.com/b"),
        ("http://a.com/x/%2e%2E/y", "http://a.com/x/%2e%2E/y"),  # encoded dots are not segments
        ("a/../b", "a/../b"),  # a relative reference keeps its dots for join()
        ("../x", "../x"),
    ],
)
def test_url_dot_segments(text: str, expected: str) -> None:
    assert URL(text) == expected


def test_url_dot_dot_above_root_keeps_the_root() -> None:
    # httpx gives "http://a.com" here; RFC 3986 5.2.4 gives "/" and so does httpr.
    assert URL("http://a.com/..") == "http://a.com/"
    assert URL("http://a.com/a/..") == "http://a.com/"


def test_url_default_port_is_dropped_whatever_the_scheme_case() -> None:
    # httpx keeps ":80" for "HTTP://" (it compares the port before lower-casing the scheme).
    url = URL("HTTP://A.COM:80/")
    assert url == "http://a.com/" and url.port is None and url.netloc == b"a.com"


def test_url_non_ascii_host_is_idna_encoded() -> None:
    url = URL("http://ü.com/")
    assert url == "http://xn--tda.com/"
    assert url.host == "xn--tda.com"  # httpx.URL.host gives the decoded "ü.com"


def test_url_keeps_an_empty_authority() -> None:
    # httpx turns this into "file:/etc/passwd"; the text is kept so that str(url) round-trips.
    url = URL("file:///etc/passwd")
    assert url == "file:///etc/passwd" and url.host == "" and url.path == "/etc/passwd"


def test_url_ipv6_host_is_lower_cased() -> None:
    url = URL("http://[::FFFF:1]/")
    assert url == "http://[::ffff:1]/" and url.host == "::ffff:1"


# --------------------------------------------------------------------------- URL: errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http://a.com:abc/", "Invalid port: 'abc'"),
        ("http://a:b:c/", "Invalid port: 'b:c'"),
        ("http://a.com:99999/", "Invalid port: '99999'"),
        ("http://a.com:65536/", "Invalid port: '65536'"),
        ("http://a.com:-1/", "Invalid port: '-1'"),
        ("http://[::1]x/", "Invalid port: 'x'"),
        ("http://[::1/", "Invalid IPv6 address: '[::1'"),
        ("http://[zz]/", "Invalid IPv6 address: '[zz]'"),
        ("http://1.2.3.300/", "Invalid IPv4 address: '1.2.3.300'"),
        ("http://a.com\x00/", "Invalid non-printable ASCII character in URL, '\\x00' at position 12."),
        ("http://a.com/\n", "Invalid non-printable ASCII character in URL, '\\n' at position 13."),
        ("http://a.com/" + "a" * 70000, "URL too long"),
    ],
)
def test_url_invalid(text: str, message: str) -> None:
    with pytest.raises(httpr.InvalidURL) as info:
        URL(text)
    assert str(info.value) == message


def test_url_invalid_is_not_a_request_error() -> None:
    with pytest.raises(httpr.InvalidURL) as info:
        URL("http://a.com:x/")
    assert not isinstance(info.value, httpr.RequestError)  # as httpx.InvalidURL


def test_url_port_range_edges_are_valid() -> None:
    assert URL("http://a.com:65535/").port == 65535
    assert URL("http://a.com:0/").port == 0


# --------------------------------------------------------------------------- URL: copy_with and kwargs


BASE = "http://a.com/p?x=1#f"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"path": "/a b/%41"}, "http://a.com/a%20b/%41?x=1#f"),
        ({"path": "/a/../b"}, "http://a.com/b?x=1#f"),
        ({"path": ""}, "http://a.com?x=1#f"),
        ({"path": "//x"}, "http://a.com//x?x=1#f"),
        ({"query": b"a b=c d"}, "http://a.com/p?a%20b=c%20d#f"),
        ({"query": b""}, "http://a.com/p?#f"),
        ({"query": None}, "http://a.com/p#f"),
        ({"params": {"a": "b c", "d": ["1", "2"], "e": None, "f": True, "g": 1.5}}, "http://a.com/p?a=b+c&d=1&d=2&e=&f=true&g=1.5#f"),
        ({"params": "x=1 +y"}, "http://a.com/p?x=1++y#f"),
        ({"params": {}}, "http://a.com/p#f"),
        ({"params": None}, "http://a.com/p#f"),
        ({"fragment": "a b#"}, "http://a.com/p?x=1#a%20b#"),
        ({"fragment": ""}, "http://a.com/p?x=1#"),
        ({"fragment": None}, "http://a.com/p?x=1"),
        ({"scheme": "HTTPS"}, "https://a.com/p?x=1#f"),
        ({"scheme": ""}, "//a.com/p?x=1#f"),
        ({"host": "B.com"}, "http://b.com/p?x=1#f"),
        ({"host": "::1"}, "http://[::1]/p?x=1#f"),
        ({"host": "a b"}, "http://a%20b/p?x=1#f"),
        ({"host": ""}, "http:/p?x=1#f"),
        ({"port": 8080}, "http://a.com:8080/p?x=1#f"),
        ({"port": 80}, "http://a.com/p?x=1#f"),
        ({"port": 443, "scheme": "https"}, "https://a.com/p?x=1#f"),
        ({"username": "a@b:c", "password": "p@:/ss"}, "http://a%40b%3Ac:p%40%3A%2Fss@a.com/p?x=1#f"),
    ],
)
def test_url_copy_with(kwargs: dict[str, Any], expected: str) -> None:
    url = URL(BASE).copy_with(**kwargs)
    assert type(url) is URL and url == expected
    assert URL(BASE, **kwargs) == expected  # the constructor takes the same keywords


def test_url_copy_with_nothing_is_equal() -> None:
    assert URL(BASE).copy_with() == BASE


def test_url_copy_with_username_or_password_keeps_the_other() -> None:
    # httpx drops the component that is not given (copy_with(password="x") loses the user name).
    url = URL("http://u:p@a.com/")
    assert url.copy_with(password="x") == "http://u:x@a.com/"
    assert url.copy_with(username="v") == "http://v:p@a.com/"
    assert url.copy_with(password="") == "http://u@a.com/"
    assert url.copy_with(username=None, password=None) == "http://a.com/"


def test_url_from_components() -> None:
    assert URL(scheme="https", host="example.com", path="/x") == "https://example.com/x"
    assert URL(host="example.com") == "//example.com"
    assert URL("/p?a=1").copy_with(host="b.com") == "//b.com/p?a=1"
    assert URL("https://example.org", path="/search", params={"q": "httpr"}) == "https://example.org/search?q=httpr"
    assert URL("http://a.com/p", params=[("a", "1"), ("a", "2")]) == "http://a.com/p?a=1&a=2"
    assert URL("http://a.com/p", params=QueryParams("a=1")) == "http://a.com/p?a=1"
    assert URL("http://a.com/p?x=1", params={"a": "1"}) == "http://a.com/p?a=1"


def test_url_changing_scheme_re_evaluates_the_default_port() -> None:
    assert URL("https://a.com/p").copy_with(scheme="http", port=443) == "http://a.com:443/p"
    assert URL("http://a.com:443/p").copy_with(scheme="https") == "https://a.com/p"
    assert URL("https://a.com:8080/p").copy_with(scheme="http").port == 8080


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bogus": 1}, "'bogus' is an invalid keyword argument for URL()"),
        ({"port": "80"}, "Argument 'port' must be int but got str"),
        ({"port": True}, "Argument 'port' must be int but got bool"),
        ({"scheme": 1}, "Argument 'scheme' must be str but got int"),
        ({"query": "x=1"}, "Argument 'query' must be bytes but got str"),
        ({"path": None}, "Argument 'path' must be str but got NoneType"),
    ],
)
def test_url_copy_with_type_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError) as info:
        URL("http://a.com/p").copy_with(**kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"path": "x"}, "For absolute URLs, path must be empty or begin with '/'"),
        ({"path": "/a?b"}, "Invalid URL component 'path'"),
        ({"path": "/a#b"}, "Invalid URL component 'path'"),
        ({"scheme": "ht tp"}, "Invalid URL component 'scheme'"),
        ({"host": "1.2.3.400"}, "Invalid IPv4 address: '1.2.3.400'"),
        ({"port": 70000}, "Invalid port: '70000'"),
        ({"port": -1}, "Invalid port: '-1'"),
        ({"path": "/a\x00"}, "Invalid non-printable ASCII character in URL path component, '\\x00' at position 2."),
        ({"host": "a\x00"}, "Invalid non-printable ASCII character in URL host component, '\\x00' at position 1."),
        ({"query": b"\xff"}, "Invalid URL component 'query'"),
    ],
)
def test_url_copy_with_invalid(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(httpr.InvalidURL) as info:
        URL("http://a.com/p").copy_with(**kwargs)
    assert str(info.value) == message


def test_url_relative_path_cannot_start_with_two_slashes() -> None:
    with pytest.raises(httpr.InvalidURL, match="Relative URLs cannot have a path starting with '//'"):
        URL("").copy_with(path="//x")


# --------------------------------------------------------------------------- URL: params helpers


def test_url_params() -> None:
    url = URL("http://a.com/p?a=1&b=2&a=3")
    assert isinstance(url.params, QueryParams)
    assert url.params.multi_items() == [("a", "1"), ("a", "3"), ("b", "2")]
    assert URL("http://a.com/p?a=b+c%20d").params == {"a": "b c d"}
    assert URL("http://a.com/p").params == QueryParams()


def test_url_param_copies() -> None:
    url = URL("http://a.com/p?a=1&b=2&a=3#f")
    assert url.copy_set_param("a", "9") == "http://a.com/p?a=9&b=2#f"
    assert url.copy_add_param("c", "x y") == "http://a.com/p?a=1&a=3&b=2&c=x+y#f"
    assert url.copy_remove_param("a") == "http://a.com/p?b=2#f"
    assert url.copy_merge_params({"b": "5", "z": "6"}) == "http://a.com/p?a=1&a=3&b=5&z=6#f"
    assert URL("http://a.com/p").copy_set_param("a", None) == "http://a.com/p?a="
    assert URL("http://a.com/p?a=1").copy_remove_param("a") == "http://a.com/p"  # no dangling "?"
    assert url == "http://a.com/p?a=1&b=2&a=3#f"  # the original is unchanged


# --------------------------------------------------------------------------- URL: join (RFC 3986 5.4)

RFC_BASE = "http://a/b/c/d;p?q"


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        # 5.4.1 normal examples
        ("g:h", "g:h"),
        ("g", "http://a/b/c/g"),
        ("./g", "http://a/b/c/g"),
        ("g/", "http://a/b/c/g/"),
        ("/g", "http://a/g"),
        ("//g", "http://g"),
        ("?y", "http://a/b/c/d;p?y"),
        ("g?y", "http://a/b/c/g?y"),
        ("#s", "http://a/b/c/d;p?q#s"),
        ("g#s", "http://a/b/c/g#s"),
        ("g?y#s", "http://a/b/c/g?y#s"),
        (";x", "http://a/b/c/;x"),
        ("g;x", "http://a/b/c/g;x"),
        ("g;x?y#s", "http://a/b/c/g;x?y#s"),
        ("", "http://a/b/c/d;p?q"),
        (".", "http://a/b/c/"),
        ("./", "http://a/b/c/"),
        ("..", "http://a/b/"),
        ("../", "http://a/b/"),
        ("../g", "http://a/b/g"),
        ("../..", "http://a/"),
        ("../../", "http://a/"),
        ("../../g", "http://a/g"),
        # 5.4.2 abnormal examples
        ("../../../g", "http://a/g"),
        ("../../../../g", "http://a/g"),
        ("/./g", "http://a/g"),
        ("/../g", "http://a/g"),
        ("g.", "http://a/b/c/g."),
        (".g", "http://a/b/c/.g"),
        ("g..", "http://a/b/c/g.."),
        ("..g", "http://a/b/c/..g"),
        ("./../g", "http://a/b/g"),
        ("./g/.", "http://a/b/c/g/"),
        ("g/./h", "http://a/b/c/g/h"),
        ("g/../h", "http://a/b/c/h"),
        ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
        ("g;x=1/../y", "http://a/b/c/y"),
        ("g?y/./x", "http://a/b/c/g?y/./x"),
        ("g?y/../x", "http://a/b/c/g?y/../x"),
        ("g#s/./x", "http://a/b/c/g#s/./x"),
        ("g#s/../x", "http://a/b/c/g#s/../x"),
        ("http:g", "http://a/b/c/g"),  # the non-strict reading, as httpx
        # normalisation of the result
        ("https://x.com:443/a b?c d", "https://x.com/a%20b?c%20d"),
        ("HTTP://X.COM/", "http://x.com/"),
    ],
)
def test_url_join_rfc3986(reference: str, expected: str) -> None:
    joined = URL(RFC_BASE).join(reference)
    assert type(joined) is URL
    assert joined == expected


def test_url_join_more() -> None:
    assert URL("http://a.com").join("x") == "http://a.com/x"
    assert URL("http://a.com/x/").join(URL("../y?z=1")) == "http://a.com/y?z=1"
    assert URL("/rel/x").join("y") == "/rel/y"
    assert URL("http://a.com:8080/x").join("//b.com/y") == "http://b.com/y"
    assert URL("http://u:p@a.com/x").join("/y") == "http://u:p@a.com/y"
    assert URL("http://a.com/b/").join("?q") == "http://a.com/b/?q"


def test_url_join_empty_drops_the_base_fragment() -> None:
    # RFC 3986 5.2.2: the fragment is always the reference's; httpx keeps "#frag" here.
    assert URL("http://a.com/p?x#frag").join("") == "http://a.com/p?x"


# --------------------------------------------------------------------------- URL: repr


def test_url_repr() -> None:
    assert repr(URL("http://a.com/x")) == "URL('http://a.com/x')"
    assert repr(URL("")) == "URL('')"


def test_url_repr_hides_the_password() -> None:
    url = URL("http://u:secret@a.com/p")
    assert repr(url) == "URL('http://u:[secure]@a.com/p')"
    assert "secret" not in repr(url) and url.password == "secret"
    assert repr(URL("http://u@a.com/")) == "URL('http://u@a.com/')"


# --------------------------------------------------------------------------- QueryParams


@pytest.mark.parametrize(
    ("source", "items", "text"),
    [
        ("a=1&b=2&a=3", [("a", "1"), ("a", "3"), ("b", "2")], "a=1&a=3&b=2"),
        ("a=%20+b&c&=d&e=", [("a", "  b"), ("c", ""), ("", "d"), ("e", "")], "a=++b&c=&=d&e="),
        ("a=1&&b=2", [("a", "1"), ("b", "2")], "a=1&b=2"),
        ("a=1;b=2", [("a", "1;b=2")], "a=1%3Bb%3D2"),
        ("?a=1", [("?a", "1")], "%3Fa=1"),
        ("a=%zz&b=%C3%BC", [("a", "%zz"), ("b", "ü")], "a=%25zz&b=%C3%BC"),
        (b"a=1", [("a", "1")], "a=1"),
        ({"a": "1", "b": "2"}, [("a", "1"), ("b", "2")], "a=1&b=2"),
        ({"a": (1, 2), "b": []}, [("a", "1"), ("a", "2")], "a=1&a=2"),
        ({"a": [None, True], "b": False, "c": 1.5}, [("a", ""), ("a", "true"), ("b", "false"), ("c", "1.5")], "a=&a=true&b=false&c=1.5"),
        ([("a", 1), ("b", None), ("a", False)], [("a", "1"), ("a", "false"), ("b", "")], "a=1&a=false&b="),
        ((("a", "1"),), [("a", "1")], "a=1"),
        (None, [], ""),
        ("", [], ""),
    ],
)
def test_query_params_construction(source: Any, items: list[tuple[str, str]], text: str) -> None:
    params = QueryParams(source)
    assert params.multi_items() == items
    assert str(params) == text


def test_query_params_from_query_params_and_kwargs() -> None:
    original = QueryParams("a=1&a=2")
    assert QueryParams(original).multi_items() == [("a", "1"), ("a", "2")]
    assert QueryParams(a="1", b=["2", "3"]).multi_items() == [("a", "1"), ("b", "2"), ("b", "3")]


def test_query_params_bad_input() -> None:
    with pytest.raises(TypeError, match="Cannot mix named and unnamed arguments"):
        QueryParams("a=1", b="2")
    with pytest.raises(TypeError, match="Invalid type for params: int"):
        QueryParams(5)  # type: ignore[arg-type]


def test_query_params_quoting_matches_httpx() -> None:
    params = QueryParams({"a": "~!*'()/?:@&=+$,;%ü -_.", "k y": "1"})
    assert str(params) == "a=~%21%2A%27%28%29%2F%3F%3A%40%26%3D%2B%24%2C%3B%25%C3%BC+-_.&k+y=1"
    assert str(QueryParams("a=1&b=x%2By+z")) == "a=1&b=x%2By+z"


def test_query_params_mapping_api() -> None:
    params = QueryParams("a=1&b=2&a=3")
    assert list(params) == ["a", "b"]
    assert list(params.keys()) == ["a", "b"]
    assert list(params.values()) == ["1", "2"]
    assert list(params.items()) == [("a", "1"), ("b", "2")]
    assert params["a"] == "1"
    assert params.get("a") == "1" and params.get("z") is None and params.get("z", "d") == "d"
    assert params.get_list("a") == ["1", "3"] and params.get_list("z") == []
    assert len(params) == 2
    not_a_str: object = 1
    assert "a" in params and "z" not in params and not_a_str not in params
    assert bool(params) and not QueryParams()
    with pytest.raises(KeyError):
        params["z"]


def test_query_params_get_list_is_a_copy() -> None:
    params = QueryParams("a=1")
    params.get_list("a").append("2")
    assert params.get_list("a") == ["1"]


def test_query_params_modifiers_return_new_instances() -> None:
    params = QueryParams("a=1&b=2&a=3")
    assert str(params.set("a", "x")) == "a=x&b=2"
    assert str(params.add("a", "x")) == "a=1&a=3&a=x&b=2"
    assert str(params.add("b", 5)) == "a=1&a=3&b=2&b=5"
    assert str(params.set("n", None)) == "a=1&a=3&b=2&n="
    assert str(params.remove("a")) == "b=2"
    assert str(params.remove("zz")) == "a=1&a=3&b=2"
    assert str(params.merge({"a": "m"})) == "a=m&b=2"
    assert str(params.merge("a=7&c=8")) == "a=7&b=2&c=8"
    assert str(params.merge([("a", "7"), ("a", "8")])) == "a=7&a=8&b=2"
    assert str(params.merge(None)) == "a=1&a=3&b=2"
    assert str(params) == "a=1&a=3&b=2"  # unchanged


def test_query_params_are_immutable() -> None:
    params = QueryParams("a=1")
    with pytest.raises(RuntimeError, match=r"q = q\.set\(key, value\)"):
        params["a"] = "2"
    with pytest.raises(RuntimeError, match=r"q = q\.merge\(\.\.\.\)"):
        params.update({"a": "2"})
    assert params == {"a": "1"}


def test_query_params_repr() -> None:
    assert repr(QueryParams("a=1&b=x y")) == "QueryParams('a=1&b=x+y')"
    assert repr(QueryParams()) == "QueryParams('')"


def test_query_params_equality_ignores_order() -> None:
    assert QueryParams("a=1&b=2") == QueryParams("b=2&a=1")
    assert QueryParams("a=1&a=2") == QueryParams("a=2&a=1")
    assert QueryParams("a=1") != QueryParams("a=2")
    assert QueryParams("a=1&a=2") != QueryParams("a=1")
    assert hash(QueryParams("a=1&b=2")) == hash(QueryParams("b=2&a=1"))
    assert len({QueryParams("a=1&b=2"), QueryParams("b=2&a=1")}) == 1


def test_query_params_equal_to_what_builds_them() -> None:
    # httpx only compares with another QueryParams; the brief asks for the wider form.
    params = QueryParams("a=1&b=2")
    assert params == "b=2&a=1"
    assert params == {"a": "1", "b": "2"}
    assert params == [("a", "1"), ("b", "2")]
    assert params != 5
    assert params != None  # noqa: E711 (None must not compare equal to an empty QueryParams)
    assert QueryParams() != None  # noqa: E711


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_query_params_pickle(protocol: int) -> None:
    params = QueryParams("a=1&a=2&b=3")
    restored = pickle.loads(pickle.dumps(params, protocol=protocol))
    assert restored.multi_items() == params.multi_items()


# --------------------------------------------------------------------------- Cookies


def test_cookies_from_mapping() -> None:
    cookies = Cookies({"a": "1", "b": "2"})
    assert list(cookies) == ["a", "b"]
    assert len(cookies) == 2 and bool(cookies) and not Cookies()
    assert dict(cookies) == {"a": "1", "b": "2"}
    assert cookies.records() == [("a", "1", "", "/"), ("b", "2", "", "/")]


def test_cookies_from_pairs_and_cookies() -> None:
    assert Cookies([("a", "1"), ("a", "2")]).records() == [("a", "2", "", "/")]  # same domain/path: replaced
    original = Cookies()
    original.set("a", "1", domain="example.org", path="/x")
    copied = Cookies(original)
    copied.set("b", "2")
    assert copied.records() == [("a", "1", "example.org", "/x"), ("b", "2", "", "/")]
    assert original.records() == [("a", "1", "example.org", "/x")]  # a copy, not a view


def _jar_cookie(name: str, value: str, domain: str, path: str) -> Cookie:
    return Cookie(
        version=0, name=name, value=value, port=None, port_specified=False,
        domain=domain, domain_specified=True, domain_initial_dot=domain.startswith("."),
        path=path, path_specified=True, secure=False, expires=None, discard=False,
        comment=None, comment_url=None, rest={},
    )


def test_cookies_from_cookiejar_keeps_domain_and_path() -> None:
    jar = CookieJar()
    jar.set_cookie(_jar_cookie("sid", "abc", ".example.org", "/app"))
    assert Cookies(jar).records() == [("sid", "abc", ".example.org", "/app")]


def test_cookies_rejects_a_string() -> None:
    with pytest.raises(TypeError, match="Invalid type for cookies: str"):
        Cookies("a=1")  # type: ignore[arg-type]


def test_cookies_set_get() -> None:
    cookies = Cookies()
    cookies.set("a", "1")
    cookies["b"] = "2"
    assert cookies["a"] == "1" and cookies.get("b") == "2"
    assert cookies.get("zz") is None and cookies.get("zz", "default") == "default"
    with pytest.raises(KeyError):
        cookies["zz"]
    cookies.set("a", "3")
    assert cookies.records() == [("a", "3", "", "/"), ("b", "2", "", "/")]


def _conflicting() -> Cookies:
    cookies = Cookies({"a": "1", "b": "2"})
    cookies.set("a", "3", domain="example.org")
    cookies.set("a", "4", domain="example.org", path="/x")
    return cookies


def test_cookies_same_name_is_stored_per_domain_and_path() -> None:
    cookies = _conflicting()
    assert list(cookies) == ["a", "b", "a", "a"] and len(cookies) == 4  # as httpx
    assert repr(cookies) == (
        "<Cookies[<Cookie a=1 for  />, <Cookie b=2 for  />, "
        "<Cookie a=3 for example.org />, <Cookie a=4 for example.org />]>"
    )


def test_cookies_get_narrowed_by_domain_and_path() -> None:
    cookies = _conflicting()
    assert cookies.get("a", domain="example.org", path="/x") == "4"
    assert cookies.get("a", domain="") == "1"
    assert cookies.get("b", domain="elsewhere.org") is None


@pytest.mark.parametrize("kwargs", [{}, {"domain": "example.org"}, {"path": "/"}])
def test_cookies_conflict(kwargs: dict[str, str]) -> None:
    with pytest.raises(httpr.CookieConflict) as info:
        _conflicting().get("a", **kwargs)
    assert str(info.value) == "Multiple cookies exist with name=a"


def test_cookies_getitem_conflict() -> None:
    with pytest.raises(httpr.CookieConflict, match="Multiple cookies exist with name=a"):
        _conflicting()["a"]


def test_cookies_delete() -> None:
    cookies = _conflicting()
    cookies.delete("a", domain="example.org", path="/x")
    assert [r[2:] for r in cookies.records() if r[0] == "a"] == [("", "/"), ("example.org", "/")]
    cookies.delete("a")  # every remaining "a"
    assert cookies.records() == [("b", "2", "", "/")]
    cookies.delete("zz")  # no error, as httpx
    del cookies["b"]
    del cookies["nope"]  # no error, as httpx
    assert not cookies


def test_cookies_clear() -> None:
    cookies = Cookies({"a": "1"})
    cookies.set("q", "1", domain="x.org")
    cookies.set("r", "2", domain="y.org", path="/p")
    cookies.set("s", "3", domain="y.org")
    cookies.clear(domain="x.org")
    assert [r[0] for r in cookies.records()] == ["a", "r", "s"]
    cookies.clear(domain="y.org", path="/p")
    assert [r[0] for r in cookies.records()] == ["a", "s"]
    cookies.clear(path="/")  # httpx (CookieJar.clear) needs a domain here; httpr does not
    assert not cookies
    cookies.set("t", "4")
    cookies.clear()
    assert len(cookies) == 0


def test_cookies_update() -> None:
    cookies = Cookies()
    cookies.update({"x": "1"})
    other = Cookies()
    other.set("y", "2", domain="example.org")
    cookies.update(other)
    cookies.update([("z", "3")])
    cookies.update(w="4")
    cookies.update(None)
    assert cookies.records() == [("x", "1", "", "/"), ("y", "2", "example.org", "/"), ("z", "3", "", "/"), ("w", "4", "", "/")]


def test_cookies_mutable_mapping_helpers() -> None:
    cookies = Cookies({"a": "1"})
    assert cookies.setdefault("n", "z") == "z"
    assert cookies.pop("a") == "1"
    assert cookies.pop("a", "gone") == "gone"
    assert dict(cookies) == {"n": "z"}
    assert cookies == {"n": "z"} and cookies == Cookies({"n": "z"})


def test_cookies_values_are_strings() -> None:
    cookies = Cookies()
    cookies.set("n", 5)  # type: ignore[arg-type]
    assert cookies["n"] == "5"


def test_cookies_pickle() -> None:
    cookies = _conflicting()
    assert pickle.loads(pickle.dumps(cookies)).records() == cookies.records()


def _site_jar() -> Cookies:
    cookies = Cookies()
    cookies.set("any", "1")  # no domain: every host
    cookies.set("org", "2", domain="example.org")
    cookies.set("dot", "3", domain=".example.org")
    cookies.set("api", "4", domain="api.example.org")
    cookies.set("docs", "5", domain="example.org", path="/docs")
    cookies.set("slash", "6", domain="example.org", path="/docs/")
    cookies.set("ip", "7", domain="10.0.0.1")
    cookies.set("ip_suffix", "9", domain="0.0.1")  # never matches: no suffix matching on IP addresses
    cookies.set("other", "8", domain="example.com")
    return cookies


@pytest.mark.parametrize(
    ("url", "names"),
    [
        ("https://example.org/", ["any", "org", "dot"]),
        ("https://EXAMPLE.org/", ["any", "org", "dot"]),
        ("https://www.example.org/", ["any", "org", "dot"]),
        ("https://api.example.org/", ["any", "org", "dot", "api"]),
        ("https://badexample.org/", ["any"]),
        ("https://example.org.evil.com/", ["any"]),
        ("https://example.org/docs", ["docs", "any", "org", "dot"]),
        ("https://example.org/docs/a?x=1", ["slash", "docs", "any", "org", "dot"]),
        ("https://example.org/docsearch", ["any", "org", "dot"]),
        ("http://10.0.0.1/", ["any", "ip"]),
        ("/relative", ["any"]),
    ],
)
def test_cookies_for_url(url: str, names: list[str]) -> None:
    assert [name for name, _ in _site_jar().for_url(url)] == names


def test_cookies_for_url_returns_values_and_accepts_a_url() -> None:
    cookies = Cookies({"a": "1"})
    cookies.set("a", "2", domain="example.org", path="/x")
    assert cookies.for_url(URL("https://example.org/x/y")) == [("a", "2"), ("a", "1")]
    assert Cookies().for_url("https://example.org/") == []


def test_cookies_for_url_cookie_ip_domain_matches_ipv6_host() -> None:
    cookies = Cookies()
    cookies.set("v6", "1", domain="::1")
    assert cookies.for_url("http://[::1]:8080/") == [("v6", "1")]


def test_cookies_for_url_invalid_url() -> None:
    with pytest.raises(httpr.InvalidURL, match="Invalid port"):
        Cookies({"a": "1"}).for_url("http://a:x/")
