"""A folder on this machine as the origin."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import secrets
import stat as stat_mode
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import BinaryIO, TypeVar

from imgproxy import metrics
from imgproxy.errors import InvalidPath, NotFound, OriginFailed, SourceTooLarge
from imgproxy.origins.base import Source

# Linux's limits on one name and on a whole path, in bytes.
NAME_MAX = 255
PATH_MAX = 4096
# How long a path's resolution is kept, and how many are kept: each request asks for its path
# three times (validator, fetch, hot answers), and resolving walks every component with a system
# call. Only a path that follows no link is kept; a file on it that has become a link since is
# resolved again at once, and a folder on it that has become one is followed at most this late.
RESOLVED_FOR_S = 1.0
RESOLVED_KEPT = 1024
# A resolved path ends in no link, so one found there is a change since the resolution; a file
# is opened without waiting, as a FIFO put there between its check and its opening would hold it.
OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOFOLLOW
# What is read at a time from a file that has grown since its size was taken.
GROWTH_CHUNK = 1 << 20

T = TypeVar("T")


class _Relinked(Exception):
    """The file a path was resolved to is a link now."""


class LocalOrigin:
    """Serves files below `root`; `..`, absolute paths and escapes through links are refused."""

    def __init__(self, root: str | Path, max_bytes: int) -> None:
        self.root = Path(root).resolve()
        self.max_bytes = max_bytes
        self.name = f"local:{self.root}"
        self._inside = os.path.join(self.root, "")
        self._kept: dict[str, str] = {}
        self._kept_since = time.monotonic()

    def resolve(self, path: str) -> str:
        """The file `path` names below the root, links followed; kept for RESOLVED_FOR_S when
        no link was followed."""
        now = time.monotonic()
        if now - self._kept_since >= RESOLVED_FOR_S or len(self._kept) >= RESOLVED_KEPT:
            self._kept.clear()
            self._kept_since = now
        full = self._kept.get(path)
        if full is None:
            full = self._resolve(path)
            if full == self._inside + path:
                self._kept[path] = full
        return full

    def _resolve(self, path: str) -> str:
        """`path` checked, its links followed and checked to stay inside; on strings rather
        than on Path objects, as it runs for most requests."""
        if path.startswith(("/", "\\")) or ".." in path.split("/"):
            raise InvalidPath(f"path {path!r} must be relative and must not contain '..'")
        if "\\" in path or "\x00" in path:
            raise InvalidPath(f"path {path!r} contains a forbidden character")
        _check_lengths(path, self._inside)
        full = os.path.realpath(os.path.join(self._inside, path))
        if not full.startswith(self._inside) and full != str(self.root):
            raise InvalidPath(f"path {path!r} leaves the origin folder")
        return full

    def _resolved_again(self, path: str) -> str:
        """The path resolved afresh, once its kept resolution has met a link."""
        self._kept.pop(path, None)
        return self._resolve(path)

    async def validator(self, path: str) -> str | None:
        try:
            stat = _stat(self.resolve(path), path)
        except _Relinked:
            stat = _settled(_stat, self._resolved_again(path), path)
        return f"{stat.st_mtime_ns:x}-{stat.st_size:x}"

    async def fetch(self, path: str) -> Source:
        started = time.perf_counter()
        try:
            stat, data = await asyncio.to_thread(_read, self.resolve(path), path, self.max_bytes)
        except _Relinked:
            full = self._resolved_again(path)
            stat, data = await asyncio.to_thread(_settled, _read, full, path, self.max_bytes)
        seconds = time.perf_counter() - started
        metrics.origin_fetched("local", seconds, len(data))
        return Source(
            data=data,
            validator=f"{stat.st_mtime_ns:x}-{stat.st_size:x}",
            last_modified=formatdate(stat.st_mtime, usegmt=True),
            fetch_ms=seconds * 1000,
        )

    async def store(self, path: str, data: bytes) -> None:
        """Write an uploaded original, atomically: readers see the old file or the new one. The
        path is resolved afresh: a write follows no kept resolution."""
        full = self._resolve(path)
        if not full.startswith(self._inside):
            raise InvalidPath(f"path {path!r} names the origin folder itself")
        await asyncio.to_thread(_write_atomically, Path(full), data, path)

    async def close(self) -> None:
        return None


def _check_lengths(path: str, inside: str) -> None:
    """Names and paths the file system would refuse as too long are the client's error."""
    longest = max(len(name.encode()) for name in path.split("/"))
    if longest > NAME_MAX or len((inside + path).encode()) >= PATH_MAX:
        raise InvalidPath(f"path {path[:64]!r}... is too long for the file system")


def _write_atomically(full: Path, data: bytes, path: str) -> None:
    """`data` written beside `full` and moved over it; nothing is left behind if that fails."""
    with _stored(path):
        try:
            full.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InvalidPath(f"path {path!r} runs through a file at the origin") from None
        # Of a fixed length: any name the origin accepts leaves room for it.
        partial = full.with_name(f".upload-{os.getpid()}-{secrets.token_hex(4)}.partial")
        try:
            partial.write_bytes(data)
            partial.replace(full)
        except IsADirectoryError:
            raise InvalidPath(f"path {path!r} names a folder at the origin") from None
        finally:
            partial.unlink(missing_ok=True)


@contextlib.contextmanager
def _stored(path: str) -> Iterator[None]:
    """A folder the server may not write, a full disk or a read-only one: the origin's 502, as
    a bucket that refuses the object is."""
    try:
        yield
    except OSError as error:
        raise OriginFailed(f"storing {path} at the origin failed: {error.strerror}") from None


def _settled(action: Callable[..., T], full: str, path: str, *args: object) -> T:
    """`action` on a path resolved just now: a link still at its end is a loop of links."""
    try:
        return action(full, path, *args)
    except _Relinked:
        raise NotFound(f"{path} is a loop of links at the origin") from None


def _stat(full: str, path: str) -> os.stat_result:
    with _found(path):
        stat = os.stat(full, follow_symlinks=False)
    if stat_mode.S_ISLNK(stat.st_mode):
        raise _Relinked
    return _regular(stat, path)


def _read(full: str, path: str, max_bytes: int) -> tuple[os.stat_result, bytes]:
    """The file's status and bytes, both from one open file, in one trip to a thread. Anything
    but a regular file is refused before it is opened: opening a device or FIFO acts on it."""
    _stat(full, path)
    with _found(path):
        fd = _opened(full)
    try:
        with _found(path):
            stat = _regular(os.fstat(fd), path)
            if stat.st_size > max_bytes:
                raise SourceTooLarge(f"{path} is {stat.st_size} bytes, over the {max_bytes} limit")
            with open(fd, "rb", buffering=0, closefd=False) as file:
                data = _bounded(file, stat.st_size, max_bytes)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise SourceTooLarge(f"{path} grew past the {max_bytes} byte limit while it was read")
    return stat, data


def _bounded(file: BinaryIO, size: int, max_bytes: int) -> bytes:
    """The file's `size` bytes and one more; only if it has grown since, on to its end or one
    byte past `max_bytes`, whichever comes first."""
    data = file.read(size + 1)
    if len(data) <= size:
        return data
    parts, total = [data], len(data)
    while total <= max_bytes and (chunk := file.read(min(GROWTH_CHUNK, max_bytes + 1 - total))):
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)


def _opened(full: str) -> int:
    try:
        return os.open(full, OPEN_FLAGS)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _Relinked from None
        raise


@contextlib.contextmanager
def _found(path: str) -> Iterator[None]:
    """A file that is not there, or a loop of links, is the origin's 404; any other failure
    to read it, the origin's 502."""
    try:
        yield
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound(f"{path} was not found at the origin") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise NotFound(f"{path} is a loop of links at the origin") from None
        # Permissions, or links whose targets make too long a path: the folder's setup fails.
        raise OriginFailed(f"{path} could not be read at the origin: {error.strerror}") from None


def _regular(stat: os.stat_result, path: str) -> os.stat_result:
    if not stat_mode.S_ISREG(stat.st_mode):
        raise NotFound(f"{path} is not a file at the origin")
    return stat
