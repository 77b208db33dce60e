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
