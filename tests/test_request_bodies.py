"""Request bodies: json=, data=, content=, files= (and data + files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import httpr
from servers import LocalServer


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "httpr", "version": 1, "fast": True, "tags": ["python", "rust"], "meta": {"v": None}},
        [1, "two", 3.5, False],
        "just a string",
    ],
    ids=["object", "array", "string"],
)
@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_json_body(httpbin: Any, method: str, payload: Any) -> None:
    with httpr.Client() as client:
        response = getattr(client, method)(httpbin.url + "/" + method, json=payload)

    body = response.json()
    assert body["json"] == payload
    assert body["headers"]["Content-Type"] == "application/json"


def test_json_body_bytes_on_the_wire(local_server: LocalServer, echo_path: str) -> None:
    payload = {"text": "Zoë ☃", "n": [1, 2]}

    httpr.post(local_server.url(echo_path), json=payload)

    [seen] = local_server.received(echo_path)
    assert json.loads(seen.body.decode("utf-8")) == payload
    assert seen.header("content-length") == str(len(seen.body))


def test_a_content_length_set_by_the_caller_is_sent_as_is(local_server: LocalServer, echo_path: str) -> None:
    with httpr.Client() as client:
        client.post(local_server.url(echo_path), content=b"hello", headers={"Content-Length": "5"})
        client.post(local_server.url(echo_path), content=b"hello again")

    first, second = local_server.received(echo_path)
    assert (first.body, first.header("content-length")) == (b"hello", "5")
    assert (second.body, second.header("content-length")) == (b"hello again", "11")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"username": "john", "password": "secret"}, {"username": "john", "password": "secret"}),
        ({"page": 1, "ratio": 0.5}, {"page": "1", "ratio": "0.5"}),
        ({"q": "a b&c=d/é"}, {"q": "a b&c=d/é"}),
    ],
    ids=["strings", "numbers", "needs-escaping"],
)
def test_form_body(httpbin: Any, data: dict[str, Any], expected: dict[str, str]) -> None:
    response = httpr.post(httpbin.url + "/post", data=data)

    body = response.json()
    assert body["form"] == expected
    assert body["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


def test_content_body_text(httpbin: Any) -> None:
    response = httpr.post(httpbin.url + "/post", content=b"raw binary data")

    assert response.json()["data"] == "raw binary data"


def test_content_body_is_sent_byte_for_byte(local_server: LocalServer, echo_path: str) -> None:
    raw = bytes(range(256)) * 4

    httpr.put(local_server.url(echo_path), content=raw)

    [seen] = local_server.received(echo_path)
    assert seen.body == raw


def write(path: Path, content: bytes) -> str:
    path.write_bytes(content)
    return str(path)


# httpbin's test server (wsgiref) cannot read chunked request bodies, and a client may well
# stream a multipart upload chunked, so uploads are checked on the local echo server.


def test_files_upload(local_server: LocalServer, echo_path: str, tmp_path: Path) -> None:
    files = {
        "document": write(tmp_path / "doc.txt", b"hello from a file\n"),
        "image": write(tmp_path / "pixel.bin", bytes(range(256))),
    }

    response = httpr.post(local_server.url(echo_path), files=files)

    assert response.status_code == 200
    [seen] = local_server.received(echo_path)
    parts = {name: (filename, content) for name, filename, content in seen.multipart()}
    assert sorted(parts) == ["document", "image"]
    assert parts["document"][1] == b"hello from a file\n"
    assert parts["image"][1] == bytes(range(256))
    # Sent as file parts, not as plain form fields.
    assert all(filename for filename, _ in parts.values())


def test_data_and_files_together(local_server: LocalServer, echo_path: str, tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", b"file body")

    httpr.post(local_server.url(echo_path), data={"title": "hello", "n": 3}, files={"attachment": path})

    [seen] = local_server.received(echo_path)
    fields = {name: content for name, filename, content in seen.multipart() if filename is None}
    files = {name: content for name, filename, content in seen.multipart() if filename is not None}
    assert fields == {"title": b"hello", "n": b"3"}
    assert files == {"attachment": b"file body"}
