"""`URL` and `QueryParams`, the httpx URL types, in pure Python.

`URL` is a `str` subclass holding the normalised URL text, so code that treats
`response.url` as a plain string keeps working, while the httpx attributes
(`.host`, `.params`, `.copy_with()`, `.join()`, ...) are there for code written
for httpx.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn, Union
from urllib.parse import parse_qsl, quote_plus, unquote

if TYPE_CHECKING:  # typing.Self is 3.11+, and the package has no runtime dependencies
    from typing_extensions import Self

__all__ = ["URL", "QueryParams"]

PrimitiveData = Union[str, int, float, bool, None]
"""A query parameter value: None becomes "", booleans "true"/"false", numbers `str()`."""

QueryParamTypes = Union[
    "QueryParams",
    Mapping[str, Union[PrimitiveData, Sequence[PrimitiveData]]],
    Sequence[tuple[str, PrimitiveData]],
    str,
    bytes,
    None,
]
"""Anything `QueryParams(...)` accepts."""

_MAX_URL_LENGTH = 65536
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}

# RFC 3986 appendix B, with the scheme restricted to valid schemes so that
# "ht tp://x" or "1http://x" parse as paths, as httpx does.
_URL_RE = re.compile(
    r"(?:([A-Za-z][A-Za-z0-9+.\-]*):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?",
    re.DOTALL,
)
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_IPV4_RE = re.compile(r"[0-9]+(?:\.[0-9]+){3}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

# Runs of characters to percent-encode in each component (the WHATWG sets httpx
# uses). "%" is never escaped, so encoding an encoded component is a no-op.
_FRAGMENT_UNSAFE = re.compile(r'(?:[^\x21-\x7e]|["<>`])+')
_QUERY_UNSAFE = re.compile(r'(?:[^\x21-\x7e]|["#<>])+')
_PATH_UNSAFE = re.compile(r'(?:[^\x21-\x7e]|["#<>?`{}])+')
_USERINFO_UNSAFE = re.compile(r'(?:[^\x21-\x7e]|["#<>?`{}/:;=@\[\\\]^|])+')
_HOST_UNSAFE = re.compile(r"[^A-Za-z0-9\-._~!$&'()*+,;=%]+")

_URL_KWARGS: dict[str, tuple[type, ...]] = {
    "scheme": (str,),
    "host": (str,),
    "port": (int, type(None)),
    "path": (str,),
    "query": (bytes, type(None)),
    "params": (object,),
    "fragment": (str, type(None)),
    "username": (str, type(None)),
    "password": (str, type(None)),
}


def _invalid_url(message: str) -> Exception:
    # Imported here: httpr/__init__.py imports this module.
    from ._exceptions import InvalidURL

    return InvalidURL(message)


def _percent_encode(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8", "surrogatepass"))


def _quote(text: str, unsafe: re.Pattern[str]) -> str:
    return unsafe.sub(_percent_encode, text)


def _check_printable(text: str, component: str | None = None) -> None:
    match = _CONTROL_RE.search(text)
    if match is not None:
        where = "URL" if component is None else f"URL {component} component"
        raise _invalid_url(
            f"Invalid non-printable ASCII character in {where}, {match.group()!r} at position {match.start()}."
        )


class _Parts(NamedTuple):
    """The normalised, percent-encoded components of a URL."""

    scheme: str
    userinfo: str
    host: str  # lower-cased, IDNA-encoded, without IPv6 brackets
    port: int | None
    path: str
    query: str | None  # None: no "?"; "": a bare "?"
    fragment: str | None
    authority: bool  # a "//" is present (keeps "file:///x" and "//host/x" as written)


def _normalize_scheme(scheme: str) -> str:
    if scheme and _SCHEME_RE.fullmatch(scheme) is None:
        raise _invalid_url("Invalid URL component 'scheme'")
    return scheme.lower()


def _normalize_host(host: str) -> str:
    if not host:
        return ""
    bracketed = host.startswith("[") and host.endswith("]")
    if host.startswith("[") or ":" in host:
        inner = host[1:-1] if bracketed else host
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            raise _invalid_url(f"Invalid IPv6 address: {host!r}") from None
        return inner.lower()
    if _IPV4_RE.fullmatch(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise _invalid_url(f"Invalid IPv4 address: {host!r}") from None
        return host
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise _invalid_url(f"Invalid IDNA hostname: {host!r}") from None
    return _quote(host.lower(), _HOST_UNSAFE)


def _check_port(port: int) -> int:
    if not 0 <= port <= 65535:
        raise _invalid_url(f"Invalid port: '{port}'")
    return port


def _split_host_port(hostport: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end == -1:
            raise _invalid_url(f"Invalid IPv6 address: {hostport!r}")
        host, rest = hostport[: end + 1], hostport[end + 1 :]
        if rest and not rest.startswith(":"):
            raise _invalid_url(f"Invalid port: {rest!r}")
        port_text = rest[1:]
    else:
        host, _, port_text = hostport.partition(":")
    if not port_text:
        return host, None
    if not (port_text.isascii() and port_text.isdigit()):
        raise _invalid_url(f"Invalid port: {port_text!r}")
    return host, _check_port(int(port_text))


def _quote_userinfo(username: str, password: str) -> str:
    user = _quote(username, _USERINFO_UNSAFE)
    return f"{user}:{_quote(password, _USERINFO_UNSAFE)}" if password else user


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    segments = path.split("/")
    if "." not in segments and ".." not in segments:
        return path
    output: list[str] = []
    for segment in segments:
        if segment == "..":
            # Never pop the empty segment that stands for the leading "/".
            if output and output != [""]:
                output.pop()
        elif segment != ".":
            output.append(segment)
    if segments[-1] in (".", ".."):
        output.append("")  # "a/b/.." names the directory "a/"
    return "/".join(output)


def _finish(parts: _Parts) -> _Parts:
    """Apply the rules that hold for every URL, however it was built."""
    authority = parts.authority or bool(parts.host or parts.userinfo or parts.port is not None)
    port = None if parts.port == _DEFAULT_PORTS.get(parts.scheme) else parts.port
    path = parts.path
    if parts.scheme or authority:
        path = _remove_dot_segments(path)
    if authority and path and not path.startswith("/"):
        raise _invalid_url("For absolute URLs, path must be empty or begin with '/'")
    if not authority and path.startswith("//"):
        raise _invalid_url("Relative URLs cannot have a path starting with '//'")
    if (port, path, authority) == (parts.port, parts.path, parts.authority):
        return parts  # the common case: skip rebuilding the tuple
    return parts._replace(port=port, path=path, authority=authority)


def _parse(url: str) -> _Parts:
    if len(url) > _MAX_URL_LENGTH:
        raise _invalid_url("URL too long")
    _check_printable(url)
    match = _URL_RE.fullmatch(url)
    assert match is not None  # every group is optional
    scheme, authority, path, query, fragment = match.groups()
    userinfo, host, port = "", "", None
    if authority is not None:
        raw_userinfo, _, hostport = authority.rpartition("@")
        host, port = _split_host_port(hostport)
        if raw_userinfo:
            username, sep, password = raw_userinfo.partition(":")
            userinfo = _quote(username, _USERINFO_UNSAFE) + sep + _quote(password, _USERINFO_UNSAFE)
    return _finish(
        _Parts(
            scheme=_normalize_scheme(scheme or ""),
            userinfo=userinfo,
            host=_normalize_host(host),
            port=port,
            path=_quote(path, _PATH_UNSAFE),
            query=None if query is None else _quote(query, _QUERY_UNSAFE),
            fragment=None if fragment is None else _quote(fragment, _FRAGMENT_UNSAFE),
            authority=authority is not None,
        )
    )


def _apply(parts: _Parts, kwargs: dict[str, Any]) -> _Parts:
    """Replace the components named in `kwargs` (the `copy_with` arguments)."""
    for key, value in kwargs.items():
        expected = _URL_KWARGS.get(key)
        if expected is None:
            raise TypeError(f"{key!r} is an invalid keyword argument for URL()")
        # bool is an int subclass, but port=True is a mistake.
        if not isinstance(value, expected) or (key == "port" and isinstance(value, bool)):
            raise TypeError(f"Argument {key!r} must be {expected[0].__name__} but got {type(value).__name__}")
        if isinstance(value, str):
            _check_printable(value, key)

    changes: dict[str, Any] = {}
    if "scheme" in kwargs:
        changes["scheme"] = _normalize_scheme(kwargs["scheme"])
    if "host" in kwargs:
        changes["host"] = _normalize_host(kwargs["host"])
        changes["authority"] = bool(kwargs["host"])
    if "port" in kwargs:
        changes["port"] = None if kwargs["port"] is None else _check_port(kwargs["port"])
    if "path" in kwargs:
        path: str = kwargs["path"]
        if "?" in path or "#" in path:
            raise _invalid_url("Invalid URL component 'path'")
        changes["path"] = _quote(path, _PATH_UNSAFE)
    if "query" in kwargs:
        changes["query"] = _decode_query(kwargs["query"])
    if "params" in kwargs:
        changes["query"] = str(QueryParams(kwargs["params"])) or None
    if "fragment" in kwargs:
        fragment = kwargs["fragment"]
        changes["fragment"] = None if fragment is None else _quote(fragment, _FRAGMENT_UNSAFE)
    if "username" in kwargs or "password" in kwargs:
        # A component not given keeps its current value.
        old_user, _, old_password = parts.userinfo.partition(":")
        username = kwargs.get("username", unquote(old_user)) or ""
        password = kwargs.get("password", unquote(old_password)) or ""
        changes["userinfo"] = _quote_userinfo(username, password)
    return _finish(parts._replace(**changes))


def _decode_query(query: bytes | None) -> str | None:
    if query is None:
        return None
    try:
        text = query.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid_url("Invalid URL component 'query'") from None
    _check_printable(text, "query")
    return _quote(text, _QUERY_UNSAFE)


def _host_text(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _unsplit(parts: _Parts, *, mask_password: bool = False) -> str:
    text = f"{parts.scheme}:" if parts.scheme else ""
    if parts.authority:
        userinfo = parts.userinfo
        if mask_password and ":" in userinfo:
            userinfo = userinfo.partition(":")[0] + ":[secure]"
        text += "//"
        if userinfo:
            text += userinfo + "@"
        text += _host_text(parts.host)
        if parts.port is not None:
            text += f":{parts.port}"
    text += parts.path
    if parts.query is not None:
        text += "?" + parts.query
    if parts.fragment is not None:
        text += "#" + parts.fragment
    return text


class URL(str):
    """A parsed, normalised URL that is also the `str` of its normalised form.

    `URL("HTTP://Example.org:80/a b?x=1")` is the string `"http://example.org/a%20b?x=1"`:
    the scheme and host are lower-cased, a default port is dropped, characters
    that may not appear in a URL are percent-encoded and "." / ".." path
    segments are resolved. Equality and hashing are those of that string.

    Keyword arguments replace components, as in `copy_with()`:
    `URL("https://example.org", path="/search", params={"q": "httpr"})`.
    An unparsable URL raises `httpr.InvalidURL`.
    """

    _p: _Parts | None = None

    @property
    def _parts(self) -> _Parts:
        # Parsed on first use: the client hands out URLs it has already normalised
        # (`_wire`), and most code only compares or prints them.
        parts = self._p
        if parts is None:
            parts = self._p = _parse(str(self))
        return parts

    @classmethod
    def _wire(cls, text: str) -> URL:
        """A URL as the client sent or received it (already normalised); parsed lazily."""
        return str.__new__(cls, text)

    def __new__(cls, url: str | URL = "", **kwargs: Any) -> Self:
        if isinstance(url, URL):
            parts = url._parts
        elif isinstance(url, str):
            parts = _parse(url)
        else:
            raise TypeError(f"Invalid type for url. Expected str or httpr.URL, got {type(url)}: {url!r}")
        if kwargs:
            parts = _apply(parts, kwargs)
        self = super().__new__(cls, _unsplit(parts))
        self._p = parts
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_unsplit(self._parts, mask_password=True)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickle as the text alone: unpickling re-parses it.
        return (type(self), (str(self),))

    @property
    def scheme(self) -> str:
        """The lower-cased scheme, "" for a relative URL."""
        return self._parts.scheme

    @property
    def host(self) -> str:
        """The lower-cased host (IDNA-encoded, IPv6 without brackets), "" when absent."""
        return self._parts.host

    @property
    def port(self) -> int | None:
        """The explicit port, or None when absent or the scheme's default."""
        return self._parts.port

    @property
    def path(self) -> str:
        """The percent-decoded path; "/" when the URL has none."""
        return unquote(self._parts.path) or "/"

    @property
    def raw_path(self) -> bytes:
        """The path and query as sent in the request line, e.g. `b"/a%20b?x=1"`."""
        raw = self._parts.path or "/"
        if self._parts.query is not None:
            raw += "?" + self._parts.query
        return raw.encode("ascii")

    @property
    def query(self) -> bytes:
        """The percent-encoded query string, without the "?"."""
        return (self._parts.query or "").encode("ascii")

    @property
    def params(self) -> QueryParams:
        """The query string parsed as `QueryParams`."""
        return QueryParams(self._parts.query or "")

    @property
    def fragment(self) -> str:
        """The percent-decoded fragment, without the "#"."""
        return unquote(self._parts.fragment or "")

    @property
    def userinfo(self) -> bytes:
        """The percent-encoded "user:password" part, b"" when absent."""
        return self._parts.userinfo.encode("ascii")

    @property
    def username(self) -> str:
        """The percent-decoded user name, "" when absent."""
        return unquote(self._parts.userinfo.partition(":")[0])

    @property
    def password(self) -> str:
        """The percent-decoded password, "" when absent."""
        return unquote(self._parts.userinfo.partition(":")[2])

    @property
    def netloc(self) -> bytes:
        """The host and non-default port, e.g. `b"example.org:8080"` (no userinfo)."""
        netloc = _host_text(self._parts.host)
        if self._parts.port is not None:
            netloc += f":{self._parts.port}"
        return netloc.encode("ascii")

    @property
    def is_absolute_url(self) -> bool:
        """True when the URL has both a scheme and a host."""
        return bool(self._parts.scheme and self._parts.host)

    @property
    def is_relative_url(self) -> bool:
        """The opposite of `is_absolute_url`."""
        return not self.is_absolute_url

    def copy_with(self, **kwargs: Any) -> URL:
        """A copy with components replaced: `scheme`, `host`, `port`, `path`,
        `query` (bytes), `params`, `fragment`, `username`, `password`."""
        return URL(self, **kwargs)

    def copy_set_param(self, key: str, value: PrimitiveData = None) -> URL:
        """A copy whose query has `key` set to the single `value`."""
        return self.copy_with(params=self.params.set(key, value))

    def copy_add_param(self, key: str, value: PrimitiveData = None) -> URL:
        """A copy whose query has `value` appended to the values of `key`."""
        return self.copy_with(params=self.params.add(key, value))

    def copy_remove_param(self, key: str) -> URL:
        """A copy whose query no longer has `key`."""
        return self.copy_with(params=self.params.remove(key))

    def copy_merge_params(self, params: QueryParamTypes) -> URL:
        """A copy whose query is merged with `params` (its keys replace existing ones)."""
        return self.copy_with(params=self.params.merge(params))

    def join(self, url: str) -> URL:  # type: ignore[override]  # httpx's join, not str.join
        """Resolve `url` against this URL (RFC 3986 section 5.2).

        `URL("https://example.org/a/b").join("../c")` is `URL("https://example.org/c")`.
        """
        base = self._parts
        ref = url._parts if isinstance(url, URL) else URL(url)._parts
        # RFC 3986 5.2.2, non-strict: "http:g" against an http base is relative.
        scheme = ref.scheme if ref.scheme != base.scheme else ""
        if scheme:
            target = ref
        elif ref.authority:
            target = ref._replace(scheme=base.scheme)
        else:
            if not ref.path:
                path = base.path
                query = ref.query if ref.query is not None else base.query
            else:
                if ref.path.startswith("/"):
                    path = ref.path
                elif base.authority and not base.path:
                    path = "/" + ref.path
                else:
                    path = base.path[: base.path.rfind("/") + 1] + ref.path
                query = ref.query
            target = base._replace(path=path, query=query, fragment=ref.fragment)
        return URL(_unsplit(_finish(target)))


def _to_str(value: PrimitiveData) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


class QueryParams(Mapping[str, str]):
    """An immutable multi-dict of query parameters, as `httpx.QueryParams`.

    Built from a query string (`"a=1&b=2"`), a mapping (a list or tuple value
    gives a repeated key), a list of `(key, value)` pairs, another
    `QueryParams`, or keyword arguments. Mapping access (`q["a"]`, `q.get`,
    `q.items()`) sees the first value of each key; `get_list` and
    `multi_items` see them all. `set`, `add`, `remove` and `merge` return
    new instances.
    """

    __slots__ = ("_dict",)
    _dict: dict[str, list[str]]

    def __init__(
        self,
        params: QueryParamTypes = None,
        /,
        **kwargs: PrimitiveData | Sequence[PrimitiveData],
    ) -> None:
        if params is not None and kwargs:
            raise TypeError("Cannot mix named and unnamed arguments.")
        source: object = kwargs or params
        self._dict = {}
        if source is None:
            return
        if isinstance(source, QueryParams):
            self._dict = dict(source._dict)  # the value lists are never mutated
        elif isinstance(source, (str, bytes)):
            text = source.decode("utf-8") if isinstance(source, bytes) else source
            for key, value in parse_qsl(text, keep_blank_values=True):
                self._dict.setdefault(key, []).append(value)
        elif isinstance(source, Mapping):
            for key, value in source.items():
                values = value if isinstance(value, (list, tuple)) else [value]
                if values:  # an empty list adds no key (httpx would store a key without values)
                    self._dict.setdefault(_to_str(key), []).extend(_to_str(v) for v in values)
        elif isinstance(source, Iterable):
            for key, value in source:
                self._dict.setdefault(_to_str(key), []).append(_to_str(value))
        else:
            raise TypeError(f"Invalid type for params: {type(source).__name__}")

    def _with(self, items: dict[str, list[str]]) -> QueryParams:
        copy = QueryParams()
        copy._dict = items
        return copy

    def __getitem__(self, key: str) -> str:
        return self._dict[key][0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def __bool__(self) -> bool:
        return bool(self._dict)

    def multi_items(self) -> list[tuple[str, str]]:
        """Every `(key, value)` pair, repeated keys included, grouped by key."""
        return [(key, value) for key, values in self._dict.items() for value in values]

    def get_list(self, key: str) -> list[str]:
        """All the values of `key`, `[]` when absent."""
        return list(self._dict.get(key, ()))

    def set(self, key: str, value: PrimitiveData = None) -> QueryParams:
        """A copy with `key` set to the single `value`."""
        return self._with({**self._dict, key: [_to_str(value)]})

    def add(self, key: str, value: PrimitiveData = None) -> QueryParams:
        """A copy with `value` appended to the values of `key`."""
        return self._with({**self._dict, key: [*self._dict.get(key, ()), _to_str(value)]})

    def remove(self, key: str) -> QueryParams:
        """A copy without `key` (no error when it is absent)."""
        return self._with({k: v for k, v in self._dict.items() if k != key})

    def merge(self, params: QueryParamTypes = None) -> QueryParams:
        """A copy updated with `params`: each of its keys replaces all values of that key."""
        return self._with({**self._dict, **QueryParams(params)._dict})

    def __str__(self) -> str:
        return "&".join(f"{quote_plus(k, safe='')}={quote_plus(v, safe='')}" for k, v in self.multi_items())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        # Compares with anything QueryParams() accepts; order does not matter (as httpx).
        if isinstance(other, QueryParams):
            params = other
        elif isinstance(other, (str, bytes, Mapping, list, tuple)):
            try:
                params = QueryParams(other)
            except (TypeError, ValueError):
                return NotImplemented
        else:
            return NotImplemented
        return sorted(self.multi_items()) == sorted(params.multi_items())

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.multi_items())))

    def __setitem__(self, key: str, value: str) -> NoReturn:
        raise RuntimeError("QueryParams are immutable. Use `q = q.set(key, value)` to create an updated copy.")

    def update(self, params: QueryParamTypes = None) -> NoReturn:
        """Not supported: QueryParams are immutable, use `merge()`."""
        raise RuntimeError("QueryParams are immutable. Use `q = q.merge(...)` to create an updated copy.")
