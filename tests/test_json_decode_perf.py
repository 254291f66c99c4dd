"""Response.json() against json.loads on the documents its fast paths care about.

The decoder reuses one str per repeated dict key (a small per-document table keyed by the key's
bytes) and checks the body's UTF-8 once; these tests pin that neither changes the result: same
values, same key order, last duplicate wins, keys that collide or only differ in the middle.
"""

from __future__ import annotations

import json
import random

import pytest

import httpr


def decode(doc: bytes | str) -> object:
    if isinstance(doc, str):
        doc = doc.encode()
    return httpr.Response(200, content=doc).json()


def same(doc: bytes | str) -> None:
    got, want = decode(doc), json.loads(doc)
    assert got == want
    assert repr(got) == repr(want)  # also key order and float formatting


def api_like(n: int) -> str:
    return json.dumps(
        [
            {
                "id": i,
                "name": f"user {i}",
                "active": i % 2 == 0,
                "score": i / 3,
                "tags": ["a", "b"][: i % 3],
                "manager": None,
                "address": {"street": f"{i} Main St", "city": "Springfield"},
            }
            for i in range(n)
        ]
    )


def test_api_like_document() -> None:
    same(api_like(36))


def test_repeated_keys_share_one_str() -> None:
    rows = decode(api_like(3))
    assert isinstance(rows, list)
    first, second = (list(r) for r in rows[:2])
    assert all(a is b for a, b in zip(first, second))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 40])
def test_keys_of_every_length(n: int) -> None:
    # Keys of one length that differ in one byte each (start, middle, end).
    base = "k" * n
    keys = {base} | {base[:i] + "x" + base[i + 1 :] for i in range(n)}
    doc = json.dumps([{k: i for i, k in enumerate(sorted(keys))} for _ in range(3)])
    same(doc)


def test_many_distinct_keys_overflow_the_table() -> None:
    rng = random.Random(1)
    keys = [f"key-{rng.getrandbits(40):x}" for _ in range(3000)]
    same(json.dumps([{k: j for j, k in enumerate(keys[i::7])} for i in range(7)] * 2))


def test_duplicate_keys_keep_the_last_value_and_first_position() -> None:
    same('{"a": 1, "b": 2, "a": 3}')
    same('[{"a": 1, "a": {"a": 2, "a": [3]}}, {"a": 4}]')


def test_escaped_and_unicode_keys() -> None:
    same(r'[{"a\u0062": 1, "ab": 2}, {"ab": 3, "a\"b": 4, "\u00e9": 5, "é": 6, "😀": 7, "": 8}]')


def test_escaped_and_unicode_values() -> None:
    same(r'["a\nb", "\u00e9", "é", "😀", "\ud83d\ude00", "", "x", "\\"]')


@pytest.mark.parametrize(
    "doc",
    [
        "0",
        "-1",
        "18446744073709551615",
        "-9223372036854775808",
        "1.5",
        "-0.0",
        "1e300",
        "true",
        "false",
        "null",
        '""',
        "[]",
        "{}",
        "[[], {}, [[{}]]]",
    ],
)
def test_scalars_and_empty_containers(doc: str) -> None:
    same(doc)


@pytest.mark.parametrize(
    "doc",
    [
        # Beyond u64 / below i64 (serde_json would give floats), and far beyond f64's range.
        '{"id": 18446744073709551616, "n": -9223372036854775809}',
        "[123456789012345678901234567890, 1.5, 2]",
        "[" + "9" * 400 + "]",
        # Whole floats that large stay floats, as json.loads has them.
        "[1e20, 12345678901234567890.0, -1E19]",
        # The limits themselves are still plain 64-bit integers.
        "[18446744073709551615, -9223372036854775808]",
    ],
)
def test_integers_beyond_64_bits_stay_exact(doc: str) -> None:
    same(doc)


@pytest.mark.parametrize(
    ("doc", "message", "pos"),
    [
        (b'{"a": 1,}', "trailing comma", 8),
        (b'{"a" 1}', "expected `:`", 5),
        (b"[1, 2", "EOF while parsing a list", 4),
        (b'{"a": 1} x', "trailing characters", 9),
        (b'["\xff"]', "invalid unicode code point", 2),
        (b'{"\xff": 1}', "invalid unicode code point", 2),
        (b'{"a\\x": 1}', "invalid escape", 4),
        (b"", "EOF while parsing a value", 0),
        (b"[1,\n 2,\n x]", "expected value", 9),
    ],
)
def test_errors_keep_their_message_and_position(doc: bytes, message: str, pos: int) -> None:
    with pytest.raises(httpr.JSONDecodeError) as e:
        decode(doc)
    assert str(e.value).startswith(f"response body is not valid JSON: {message} (")
    assert e.value.pos == pos
