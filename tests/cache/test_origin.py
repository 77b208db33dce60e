"""Originals replaced by POST, with a shared tier: a server asks S3 once per interval whether
anything changed, and asks per path only after a change."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from imgproxy.cache import origin as cached_origin
from imgproxy.cache.origin import PreprocessedOrigin
from imgproxy.cache.stores import BlobStore, Entry
from imgproxy.origins.base import Source


class Plain:
    """The configured origin underneath: every path is there, version 'own'."""

    name = "plain"

    async def validator(self, path: str) -> str | None:
        return "own"

    async def fetch(self, path: str) -> Source:
        return Source(b"own bytes", "own")

    async def close(self) -> None:
        return None


class CountingTier:
    """A shared tier in memory that counts the S3 requests it stands for."""

    def __init__(self) -> None:
        self.asked: Counter[str] = Counter()
        self.originals: dict[str, tuple[str, bytes]] = {}
        self.token = 0

    def generation(self) -> str:
        self.asked["generation"] += 1
        return str(self.token)

    def announce(self) -> str:
        self.token += 1
        return str(self.token)

    def original_version(self, tag: str) -> str | None:
        self.asked["version"] += 1
        return self.originals[tag][0] if tag in self.originals else None

    def get_original(self, tag: str) -> Entry | None:
        version, data = self.originals[tag]
        return Entry({"validator": version}, data)

    def put_original(self, tag: str, validator: str, data: bytes) -> str:
        self.originals[tag] = (validator, data)
        return self.announce()


@pytest.fixture
def tier() -> CountingTier:
    return CountingTier()


def server(tmp_path, tier: CountingTier, name: str) -> PreprocessedOrigin:
    return PreprocessedOrigin(Plain(), BlobStore(tmp_path / name, 10), tier)  # type: ignore[arg-type]


def versions(origin: PreprocessedOrigin, paths: list[str]) -> list[str | None]:
    async def ask() -> list[str | None]:
        return [await origin.validator(path) for path in paths]

    return asyncio.run(ask())


def test_paths_asked_again_cost_no_s3_request_while_nothing_changed(tmp_path, tier):
    here = server(tmp_path, tier, "a")
    paths = [f"p{i}.jpg" for i in range(10)]
    assert versions(here, paths) == ["own"] * 10
    assert tier.asked == {"generation": 1, "version": 10}
    assert versions(here, paths * 3) == ["own"] * 30
    assert tier.asked == {"generation": 1, "version": 10}


def test_per_path_versions_are_not_asked_again_after_each_interval(tmp_path, tier, monkeypatch):
    monkeypatch.setattr(cached_origin, "SHARED_CHECK_S", 0.0)
    here = server(tmp_path, tier, "a")
    paths = [f"p{i}.jpg" for i in range(10)]
    for _ in range(3):
        assert versions(here, paths) == ["own"] * 10
    assert tier.asked["version"] == 10 and tier.asked["generation"] >= 3


def test_a_post_on_another_server_is_seen_after_the_next_generation_check(
    tmp_path, tier, monkeypatch
):
    here, there = server(tmp_path, tier, "a"), server(tmp_path, tier, "b")

    async def scenario() -> tuple[list[str | None], str]:
        await here.validator("cat.jpg")
        kept = there.keep("cat.jpg", b"posted bytes")
        monkeypatch.setattr(cached_origin, "SHARED_CHECK_S", 0.0)
        # The first request takes the last answer while the new generation is asked for.
        await here.validator("dog.jpg")
        async with asyncio.timeout(5):
            while here.generation is not None and here.generation.known != str(tier.token):
                await asyncio.sleep(0.01)
        return [await here.validator("cat.jpg"), await here.validator("dog.jpg")], kept

    seen, kept = asyncio.run(scenario())
    assert seen == [kept, "own"]
    fetched = asyncio.run(here.fetch("cat.jpg"))
    assert (fetched.data, fetched.validator) == (b"posted bytes", kept)


def test_this_servers_own_post_is_served_at_once(tmp_path, tier):
    here = server(tmp_path, tier, "a")
    assert versions(here, ["cat.jpg"]) == ["own"]
    kept = here.keep("cat.jpg", b"posted bytes")
    assert versions(here, ["cat.jpg"]) == [kept]
