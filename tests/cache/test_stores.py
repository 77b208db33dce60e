"""The disk stores: entries round-trip, damaged values are dropped, size 0 turns a store off."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time

from imgproxy.cache.origin import CachedOrigin
from imgproxy.cache.stores import BlobStore, pack, unpack
from imgproxy.origins.base import Source


def test_an_entry_round_trips_through_the_disk(tmp_path):
    store = BlobStore(tmp_path, 10)
    store.put("k", {"media_type": "image/png", "width": 3}, b"\x89PNG body" * 10_000)
    entry = store.get("k")
    assert entry.meta == {"media_type": "image/png", "width": 3}
    assert entry.body == b"\x89PNG body" * 10_000
    store.close()


def test_damaged_values_read_as_missing():
    good = pack({"a": 1}, b"body")
    assert unpack(good).body == b"body"
    assert unpack(good[:3]) is None
    assert unpack(good[:6]) is None
    assert unpack(b"\x00\x00\x00\x02[]body") is None


def test_a_store_of_size_zero_keeps_nothing(tmp_path):
    store = BlobStore(tmp_path, 0)
    store.put("k", {}, b"x")
    assert store.get("k") is None


class CountingOrigin:
    name = "counting"

    def __init__(self) -> None:
        self.fetches = 0

    async def validator(self, path: str) -> str | None:
        return None

    async def fetch(self, path: str) -> Source:
        self.fetches += 1
        return Source(b"original", '"v1"', "Tue, 14 Nov 2023 22:13:20 GMT", 5.0)

    async def close(self) -> None:
        return None


def test_cached_origin_fetches_once_and_knows_the_validator_afterwards(tmp_path):
    inner = CountingOrigin()
    cached = CachedOrigin(inner, BlobStore(tmp_path, 10), ttl_s=60)

    async def run():
        assert await cached.validator("a.jpg") is None
        first = await cached.fetch("a.jpg")
        second = await cached.fetch("a.jpg")
        return first, second, await cached.validator("a.jpg")

    first, second, validator = asyncio.run(run())
    assert inner.fetches == 1
    assert first.data == second.data == b"original"
    assert validator == '"v1"' and second.last_modified == first.last_modified


WRITER = """
import sys
from imgproxy.cache.stores import BlobStore
store = BlobStore(sys.argv[1], 50)
i = 0
while True:
    store.put(f"k{i % 200}", {"i": i}, bytes([i % 256]) * (40_000 + i % 5000))
    i += 1
"""


def test_the_store_survives_kill_9_in_the_middle_of_writes(tmp_path):
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)])
    time.sleep(1.5)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    store = BlobStore(tmp_path, 50)
    found = [store.get(f"k{i}") for i in range(200)]
    valid = [entry for entry in found if entry is not None]
    assert valid, "the writer stored nothing before it was killed"
    for entry in valid:
        assert len(set(entry.body)) == 1 and entry.body[0] == entry.meta["i"] % 256


def test_a_damaged_entry_is_never_served_and_is_dropped(tmp_path):
    store = BlobStore(tmp_path, 10)
    store.put("big", {"a": 1}, b"x" * 200_000)
    (blob,) = [p for p in tmp_path.rglob("*.val")]
    blob.write_bytes(blob.read_bytes()[:1000])
    assert store.get("big") is None
    store.put("big", {"a": 2}, b"y" * 200_000)
    assert store.get("big").meta == {"a": 2}
    blob_files = list(tmp_path.rglob("*.val"))
    assert len(blob_files) == 1
