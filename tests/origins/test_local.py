"""The local folder origin."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import io
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from imgproxy.errors import InvalidPath, NotFound, OriginFailed, SourceTooLarge
from imgproxy.origins import local
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
    assert origin.resolve("alias.jpg") == str(origin.root / "a.jpg")


def test_a_sibling_folder_sharing_the_roots_prefix_is_outside(origin):
    # root is .../inside; .../inside-other starts with the same characters.
    other = origin.root.parent / "inside-other"
    other.mkdir()
    (other / "b.jpg").write_bytes(b"b")
    (origin.root / "sneaky.jpg").symlink_to(other / "b.jpg")
    with pytest.raises(InvalidPath, match="leaves"):
        asyncio.run(origin.fetch("sneaky.jpg"))


def test_a_fifo_is_not_found_without_waiting_for_a_writer(origin):
    fifo = origin.root / "pipe.jpg"
    os.mkfifo(fifo)

    def free_a_waiting_reader() -> None:
        # A reader stuck in open() would hold the test for ever: a writer's open frees it.
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    timer = threading.Timer(5, free_a_waiting_reader)
    timer.start()
    try:
        with pytest.raises(NotFound, match="not a file"):
            asyncio.run(asyncio.wait_for(origin.fetch("pipe.jpg"), timeout=2))
    finally:
        timer.cancel()


def test_a_socket_is_not_found_and_never_opened(origin):
    os.mknod(origin.root / "socket.jpg", 0o600 | stat.S_IFSOCK)
    with pytest.raises(NotFound, match="not a file"):
        asyncio.run(origin.fetch("socket.jpg"))
    with pytest.raises(NotFound, match="not a file"):
        asyncio.run(origin.validator("socket.jpg"))


def test_a_growing_file_is_read_no_further_than_a_byte_past_the_cap():
    assert local._bounded(io.BytesIO(b"x" * 10_000), 3, 100) == b"x" * 101
    assert local._bounded(io.BytesIO(b"x" * 50), 3, 100) == b"x" * 50
    assert local._bounded(io.BytesIO(b"x" * 50), 50, 100) == b"x" * 50


def test_a_file_the_server_may_not_read_is_the_origins_502(origin, monkeypatch):
    def refused(full: str) -> int:
        raise PermissionError(errno.EACCES, "Permission denied", full)

    monkeypatch.setattr(local, "_opened", refused)
    with pytest.raises(OriginFailed, match="Permission denied"):
        asyncio.run(origin.fetch("a.jpg"))


@pytest.mark.parametrize(
    ("path", "message"),
    [(".", "origin folder itself"), ("a.jpg/x.jpg", "runs through a file"), ("sub", "a folder")],
)
def test_an_upload_that_cannot_land_in_the_folder_is_refused_and_leaves_nothing(
    origin, path, message
):
    (origin.root / "sub").mkdir()
    before = sorted(p.name for p in origin.root.parent.rglob("*"))
    with pytest.raises(InvalidPath, match=message):
        asyncio.run(origin.store(path, b"upload"))
    assert sorted(p.name for p in origin.root.parent.rglob("*")) == before


@pytest.mark.parametrize(
    ("step", "error"),
    [
        ("write_bytes", PermissionError(errno.EACCES, "Permission denied")),
        ("replace", OSError(errno.ENOSPC, "No space left on device")),
        ("mkdir", OSError(errno.EROFS, "Read-only file system")),
    ],
)
def test_an_upload_the_folder_cannot_take_is_the_origins_502_and_leaves_no_file(
    origin, monkeypatch, step, error
):
    def refused(*args: object, **kwargs: object) -> None:
        raise error

    def files() -> list[str]:
        return sorted(p.name for p in origin.root.parent.rglob("*") if p.is_file())

    before = files()
    monkeypatch.setattr(Path, step, refused)
    with pytest.raises(
        OriginFailed, match=f"storing new/up.jpg at the origin failed: {error.strerror}"
    ):
        asyncio.run(origin.store("new/up.jpg", b"upload"))
    monkeypatch.undo()
    assert files() == before


class StaleStatus:
    """A file's status taken before it grew: 3 bytes."""

    st_size = 3

    def __init__(self, status: os.stat_result) -> None:
        self.status = status

    def __getattr__(self, name: str) -> object:
        return getattr(self.status, name)


def test_a_file_that_grows_past_the_cap_while_read_is_413(origin, monkeypatch):
    (origin.root / "big.jpg").write_bytes(b"x" * 101)
    real_fstat = os.fstat
    monkeypatch.setattr(local.os, "fstat", lambda fd: StaleStatus(real_fstat(fd)))
    with pytest.raises(SourceTooLarge, match="grew past"):
        asyncio.run(origin.fetch("big.jpg"))
    (origin.root / "big.jpg").write_bytes(b"y" * 60)
    assert asyncio.run(origin.fetch("big.jpg")).data == b"y" * 60


class Clock:
    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(local.time, "monotonic", clock)
    return clock


def test_a_resolution_serves_every_request_of_its_window(origin, clock, monkeypatch):
    walks = []
    real_realpath = os.path.realpath
    monkeypatch.setattr(local.os.path, "realpath", lambda p: walks.append(p) or real_realpath(p))
    for _ in range(3):
        assert asyncio.run(origin.fetch("a.jpg")).data == b"abc"
        asyncio.run(origin.validator("a.jpg"))
    assert len(walks) == 1
    clock.now += local.RESOLVED_FOR_S
    asyncio.run(origin.validator("a.jpg"))
    assert len(walks) == 2


def test_a_path_through_a_link_is_resolved_on_every_request(origin, clock):
    (origin.root / "b.jpg").write_bytes(b"bcd")
    (origin.root / "alias.jpg").symlink_to(origin.root / "a.jpg")
    assert asyncio.run(origin.fetch("alias.jpg")).data == b"abc"
    (origin.root / "alias.jpg").unlink()
    (origin.root / "alias.jpg").symlink_to(origin.root / "b.jpg")
    (origin.root / "a.jpg").unlink()
    assert asyncio.run(origin.fetch("alias.jpg")).data == b"bcd"
    assert asyncio.run(origin.validator("alias.jpg"))


def test_the_resolutions_kept_are_bounded(origin, clock, monkeypatch):
    monkeypatch.setattr(local, "RESOLVED_KEPT", 2)
    for name in ("a.jpg", "b.jpg", "c.jpg", "d.jpg"):
        origin.resolve(name)
        assert len(origin._kept) <= 2


def test_a_refused_path_is_refused_again_within_the_window(origin, clock):
    for _ in range(2):
        with pytest.raises(InvalidPath, match="leaves"):
            origin.resolve("link.jpg")


@pytest.mark.parametrize("first", ["fetch", "validator"])
def test_a_file_that_becomes_a_link_out_is_refused_within_the_window(origin, clock, first):
    asyncio.run(origin.validator("a.jpg"))
    (origin.root / "a.jpg").unlink()
    (origin.root / "a.jpg").symlink_to(origin.root.parent / "secret.txt")
    with pytest.raises(InvalidPath, match="leaves"):
        asyncio.run(getattr(origin, first)("a.jpg"))


def test_a_file_that_becomes_a_link_inside_is_followed_within_the_window(origin, clock):
    (origin.root / "b.jpg").write_bytes(b"bcd")
    asyncio.run(origin.validator("a.jpg"))
    (origin.root / "a.jpg").unlink()
    (origin.root / "a.jpg").symlink_to(origin.root / "b.jpg")
    assert asyncio.run(origin.fetch("a.jpg")).data == b"bcd"
    assert origin.resolve("a.jpg") == str(origin.root / "b.jpg")
