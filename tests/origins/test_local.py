"""The local folder origin."""

from __future__ import annotations

import asyncio

import pytest

from imgproxy.errors import InvalidPath, NotFound, SourceTooLarge
from imgproxy.origins.local import LocalOrigin


@pytest.fixture
def origin(tmp_path):
    (tmp_path / "inside").mkdir()
    (tmp_path / "inside" / "a.jpg").write_bytes(b"abc")
    (tmp_path / "secret.txt").write_bytes(b"secret")
    (tmp_path / "inside" / "link.jpg").symlink_to(tmp_path / "secret.txt")
    return LocalOrigin(tmp_path / "inside", max_bytes=100)


def test_a_file_is_read_with_a_validator_that_follows_changes(origin):
    source = asyncio.run(origin.fetch("a.jpg"))
    assert source.data == b"abc" and source.last_modified.endswith("GMT")
    assert asyncio.run(origin.validator("a.jpg")) == source.validator
    (origin.root / "a.jpg").write_bytes(b"abcd")
    assert asyncio.run(origin.validator("a.jpg")) != source.validator


@pytest.mark.parametrize("path", ["../secret.txt", "/etc/passwd", "x/../../secret.txt", "link.jpg"])
def test_paths_that_leave_the_folder_are_refused(origin, path):
    with pytest.raises(InvalidPath):
        asyncio.run(origin.fetch(path))


@pytest.mark.parametrize("path", ["missing.jpg", "a.jpg/child", "."])
def test_missing_files_and_folders_are_not_found(origin, path):
    with pytest.raises(NotFound):
        asyncio.run(origin.fetch(path))


def test_files_over_the_byte_cap_are_413(origin):
    (origin.root / "big.jpg").write_bytes(b"x" * 101)
    with pytest.raises(SourceTooLarge):
        asyncio.run(origin.fetch("big.jpg"))


def test_a_loop_of_links_is_not_found(origin):
    (origin.root / "loop1").symlink_to(origin.root / "loop2")
    (origin.root / "loop2").symlink_to(origin.root / "loop1")
    with pytest.raises(NotFound, match="loop of links"):
        asyncio.run(origin.fetch("loop1"))
    with pytest.raises(NotFound):
        asyncio.run(origin.validator("loop2"))


def test_a_name_too_long_for_the_file_system_is_an_invalid_path(origin):
    with pytest.raises(InvalidPath, match="too long"):
        asyncio.run(origin.validator("a" * 300 + ".jpg"))
    with pytest.raises(InvalidPath, match="too long"):
        asyncio.run(origin.store("d/" * 3000 + "x.jpg", b"x"))


def test_an_upload_under_the_longest_name_is_stored(origin):
    name = "b" * 251 + ".jpg"
    asyncio.run(origin.store(name, b"upload"))
    assert (origin.root / name).read_bytes() == b"upload"
    assert [p.name for p in origin.root.iterdir() if p.name.endswith(".partial")] == []


def test_links_that_stay_inside_are_followed(origin):
    (origin.root / "alias.jpg").symlink_to(origin.root / "a.jpg")
    assert asyncio.run(origin.fetch("alias.jpg")).data == b"abc"
    assert origin.resolve("alias.jpg") == origin.root / "a.jpg"


def test_a_sibling_folder_sharing_the_roots_prefix_is_outside(origin):
    # root is .../inside; .../inside-other starts with the same characters.
    other = origin.root.parent / "inside-other"
    other.mkdir()
    (other / "b.jpg").write_bytes(b"b")
    (origin.root / "sneaky.jpg").symlink_to(other / "b.jpg")
    with pytest.raises(InvalidPath, match="leaves"):
        asyncio.run(origin.fetch("sneaky.jpg"))
