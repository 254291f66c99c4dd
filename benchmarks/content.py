"""The files the benchmark server serves and the client uploads, made deterministically.

    python3 benchmarks/content.py OUTDIR

Bodies are printable ASCII drawn from SHAKE-256 of a fixed label, the JSON documents come from
a seeded ``random.Random``: the same bytes on every machine, so a run's checksums mean the same
everywhere. ``manifest.json`` records each route's size and sha256 (and a JSON document's item
count); workers validate every response against it. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
from typing import Any

#: Served at /NAME; "upload" is the body of upload_10m (read by the client, never served).
SIZES = {"5k": 5 * 1024, "50k": 50 * 1024, "200k": 200 * 1024, "big": 64 * 1024 * 1024, "upload": 10 * 1024 * 1024}
#: /json/NAME: about this many bytes of JSON.
JSON_SIZES = {"1": 1_000, "10": 10_000}
ECHO_BODY = '{"ok":true}'
#: Printable ASCII keeps every body valid text, so no client takes a binary-only path.
_PRINTABLE = bytes(0x20 + b % 95 for b in range(256))


def body(label: str, size: int) -> bytes:
    return hashlib.shake_256(label.encode()).digest(size).translate(_PRINTABLE)


def _word(rng: random.Random, lo: int = 3, hi: int = 10) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(lo, hi)))


def _item(rng: random.Random, i: int) -> dict[str, Any]:
    """A record shaped like a typical API's: nested objects, lists, numbers, nulls."""
    return {
        "id": i,
        "name": f"{_word(rng).title()} {_word(rng).title()}",
        "email": f"{_word(rng)}@{_word(rng)}.example",
        "active": rng.random() < 0.5,
        "score": round(rng.uniform(0, 1000), 3),
        "visits": rng.randrange(100_000),
        "tags": [_word(rng, 2, 6) for _ in range(rng.randint(1, 4))],
        "address": {"city": _word(rng).title(), "zip": f"{rng.randrange(100_000):05d}",
                    "geo": {"lat": round(rng.uniform(-90, 90), 5), "lon": round(rng.uniform(-180, 180), 5)}},
        "note": None if rng.random() < 0.3 else _word(rng, 5, 20),
    }


def json_doc(label: str, target: int) -> bytes:
    rng = random.Random(label)
    items: list[dict[str, Any]] = []
    while True:
        items.append(_item(rng, len(items)))
        data = json.dumps(items, separators=(",", ":")).encode()
        if len(data) >= target:
            return data


def write(out: str) -> dict[str, Any]:
    """Write every file under ``out`` (skipped when its manifest is already there) -> the manifest."""
    path = os.path.join(out, "manifest.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            existing: dict[str, Any] = json.load(f)
        if all(os.path.exists(os.path.join(out, r.lstrip("/"))) for r in existing if r != "/echo"):
            return existing
    os.makedirs(os.path.join(out, "json"), exist_ok=True)
    manifest: dict[str, Any] = {}
    for name, size in SIZES.items():
        data = body("httpr-bench-" + name, size)
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        manifest["/" + name] = {"size": size, "sha256": hashlib.sha256(data).hexdigest()}
    for name, target in JSON_SIZES.items():
        data = json_doc("httpr-bench-json-" + name, target)
        with open(os.path.join(out, "json", name), "wb") as f:
            f.write(data)
        manifest["/json/" + name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                                     "items": len(json.loads(data))}
    manifest["/echo"] = {"size": len(ECHO_BODY), "body": ECHO_BODY}
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    os.replace(path + ".tmp", path)
    return manifest


if __name__ == "__main__":
    print(json.dumps({k: v["size"] for k, v in write(sys.argv[1]).items()}))
