"""Every public object carries its api.yaml documentation at runtime, so help() is useful."""

from __future__ import annotations

import inspect

import pytest

import httpr

# Classes and functions; constants and typing aliases are documented in the stubs.
PUBLIC = [
    name
    for name in httpr.__all__
    if not name.startswith("_") and (inspect.isclass(getattr(httpr, name)) or inspect.isroutine(getattr(httpr, name)))
]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_object_has_a_docstring(name: str) -> None:
    obj = getattr(httpr, name)
    assert inspect.getdoc(obj), f"httpr.{name} has no docstring"


@pytest.mark.parametrize("cls", [httpr.Client, httpr.AsyncClient, httpr.Response, httpr.StreamingResponse])
def test_public_methods_and_properties_have_docstrings(cls: type) -> None:
    missing = [
        name
        for name, member in vars(cls).items()
        if not name.startswith("_") and not inspect.getdoc(member)
    ]
    assert missing == []


def test_help_shows_parameters_and_defaults() -> None:
    doc = inspect.getdoc(httpr.Client.get) or ""
    assert "timeout (float | tuple[float | None, ...] | Timeout | None)" in doc and "Default: the client's setting." in doc
    assert "params (QueryParamTypes | None)" in doc
    assert str(inspect.signature(httpr.Client)).startswith("(auth=None, auth_bearer=None")
    assert "timeout=30" in str(inspect.signature(httpr.Client))
