"""`Cookies`, an httpx-style cookie jar, in pure Python."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from http.cookiejar import CookieJar
from typing import Protocol, Union, runtime_checkable

from ._urls import URL

__all__ = ["Cookies"]


@runtime_checkable
class _KeysAndGetItem(Protocol):
    """What dict.update() accepts as a mapping: `keys()` plus `[]`."""

    def keys(self) -> Iterable[str]: ...
    def __getitem__(self, key: str, /) -> str: ...


CookieTypes = Union["Cookies", CookieJar, Mapping[str, str], _KeysAndGetItem, Iterable[tuple[str, str]], None]
"""Anything `Cookies(...)` accepts."""


def _cookie_conflict(name: str) -> Exception:
    # Imported here: httpr/__init__.py imports this module.
    from ._exceptions import CookieConflict

    return CookieConflict(f"Multiple cookies exist with name={name}")


def _domain_matches(cookie_domain: str, host: str) -> bool:
    if not cookie_domain:
        return True  # set without a domain: sent everywhere
    domain = cookie_domain.lower().removeprefix(".")
    if host == domain:
        return True
    if not host.endswith("." + domain):
        return False
    try:  # RFC 6265 5.1.3: no suffix matching on IP addresses
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


def _path_matches(cookie_path: str, request_path: str) -> bool:
    # RFC 6265 5.1.4: a prefix that ends at a "/" boundary.
    cookie_path = cookie_path or "/"
    if request_path == cookie_path:
        return True
    return request_path.startswith(cookie_path) and (
        cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"
    )


class Cookies(MutableMapping[str, str]):
    """A cookie jar, as `httpx.Cookies`: a mutable mapping of cookie name to value.

    Each cookie also has a domain and a path; a name can be stored once per
    `(domain, path)`. `cookies["name"]` and `get("name")` raise
    `httpr.CookieConflict` when several stored cookies have that name and
    `domain`/`path` do not narrow them to one. Built from a mapping, a list of
    `(name, value)` pairs, another `Cookies` or an `http.cookiejar.CookieJar`
    (domains and paths are kept).
    """

    def __init__(self, cookies: CookieTypes = None) -> None:
        # (domain, path, name) -> value, in insertion order.
        self._store: dict[tuple[str, str, str], str] = {}
        if cookies is None:
            return
        if isinstance(cookies, Cookies):
            self._store = dict(cookies._store)
        elif isinstance(cookies, CookieJar):
            # Checked before the mapping case: requests' RequestsCookieJar is both.
            for cookie in cookies:
                self.set(cookie.name, cookie.value or "", cookie.domain, cookie.path)
        elif isinstance(cookies, str):
            raise TypeError("Invalid type for cookies: str (pass a mapping or a list of pairs)")
        elif isinstance(cookies, _KeysAndGetItem):
            for name in cookies.keys():
                self.set(name, cookies[name])
        else:
            for name, value in cookies:
                self.set(name, value)

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        """Store a cookie, replacing one with the same name, domain and path."""
        self._store[(domain, path, name)] = str(value)

    def _matching(self, name: str | None, domain: str | None, path: str | None) -> list[tuple[str, str, str]]:
        return [
            key
            for key in self._store
            if (name is None or key[2] == name)
            and (domain is None or key[0] == domain)
            and (path is None or key[1] == path)
        ]

    def get(  # type: ignore[override]  # adds the domain/path filters
        self,
        name: str,
        default: str | None = None,
        domain: str | None = None,
        path: str | None = None,
    ) -> str | None:
        """The value of cookie `name`, or `default` when none matches.

        `domain` and `path`, when given, must equal the stored ones. Raises
        `httpr.CookieConflict` when more than one cookie matches.
        """
        keys = self._matching(name, domain, path)
        if len(keys) > 1:
            raise _cookie_conflict(name)
        return self._store[keys[0]] if keys else default

    def delete(self, name: str, domain: str | None = None, path: str | None = None) -> None:
        """Remove every cookie `name` matching `domain`/`path` (no error when none does)."""
        for key in self._matching(name, domain, path):
            del self._store[key]

    def clear(self, domain: str | None = None, path: str | None = None) -> None:
        """Remove all cookies, or only those with this domain and/or path."""
        for key in self._matching(None, domain, path):
            del self._store[key]

    def update(self, cookies: CookieTypes = None, /, **kwargs: str) -> None:
        """Add cookies from anything `Cookies()` accepts, keeping their domains and paths."""
        self._store.update(Cookies(cookies)._store)
        for name, value in kwargs.items():
            self.set(name, value)

    def records(self) -> list[tuple[str, str, str, str]]:
        """Every stored cookie as `(name, value, domain, path)`."""
        return [(name, value, domain, path) for (domain, path, name), value in self._store.items()]

    def for_url(self, url: str) -> list[tuple[str, str]]:
        """The `(name, value)` pairs to send to `url`, longest path first (RFC 6265).

        A cookie without a domain matches every host; "example.org" and
        ".example.org" match that host and its subdomains. The cookie path
        matches that path and the paths below it.
        """
        parsed = url if isinstance(url, URL) else URL(url)
        host, request_path = parsed.host, parsed.path
        matches = [
            (path, name, value)
            for (domain, path, name), value in self._store.items()
            if _domain_matches(domain, host) and _path_matches(path, request_path)
        ]
        matches.sort(key=lambda match: -len(match[0]))  # stable: ties keep insertion order
        return [(name, value) for _, name, value in matches]

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: str) -> None:
        self.set(name, value)

    def __delitem__(self, name: str) -> None:
        # As httpx: deleting a missing cookie is not an error.
        self.delete(name)

    def __iter__(self) -> Iterator[str]:
        # One name per stored cookie, so a name set for two domains appears twice (as httpx).
        return (name for (_, _, name) in self._store)

    def __len__(self) -> int:
        return len(self._store)

    def __bool__(self) -> bool:
        return bool(self._store)

    def __repr__(self) -> str:
        cookies = ", ".join(f"<Cookie {n}={v} for {d} />" for n, v, d, _ in self.records())
        return f"<Cookies[{cookies}]>"
