"""A folder on this machine as the origin."""

from __future__ import annotations

import asyncio
import errno
import os
import secrets
import stat as stat_mode
import time
from email.utils import formatdate
from pathlib import Path

from imgproxy import metrics
from imgproxy.errors import InvalidPath, NotFound, SourceTooLarge
from imgproxy.origins.base import Source

# Linux's limits on one name and on a whole path, in bytes.
NAME_MAX = 255
PATH_MAX = 4096


class LocalOrigin:
    """Serves files below `root`; `..`, absolute paths and escapes through links are refused."""

    def __init__(self, root: str | Path, max_bytes: int) -> None:
        self.root = Path(root).resolve()
        self.max_bytes = max_bytes
        self.name = f"local:{self.root}"
        self._inside = os.path.join(self.root, "")

    def resolve(self, path: str) -> Path:
        """The file `path` names below the root, links followed; every request resolves its
        path, so this works on strings rather than on Path objects."""
        if path.startswith(("/", "\\")) or ".." in path.split("/"):
            raise InvalidPath(f"path {path!r} must be relative and must not contain '..'")
        if "\\" in path or "\x00" in path:
            raise InvalidPath(f"path {path!r} contains a forbidden character")
        _check_lengths(path, self._inside)
        full = os.path.realpath(os.path.join(self._inside, path))
        if not full.startswith(self._inside) and full != str(self.root):
            raise InvalidPath(f"path {path!r} leaves the origin folder")
        return Path(full)

    async def validator(self, path: str) -> str | None:
        stat = _stat(self.resolve(path), path)
        return f"{stat.st_mtime_ns:x}-{stat.st_size:x}"

    async def fetch(self, path: str) -> Source:
        full = self.resolve(path)
        started = time.perf_counter()
        stat = _stat(full, path)
        if stat.st_size > self.max_bytes:
            raise SourceTooLarge(f"{path} is {stat.st_size} bytes, over the {self.max_bytes} limit")
        data = await asyncio.to_thread(full.read_bytes)
        seconds = time.perf_counter() - started
        metrics.origin_fetched("local", seconds, len(data))
        return Source(
            data=data,
            validator=f"{stat.st_mtime_ns:x}-{stat.st_size:x}",
            last_modified=formatdate(stat.st_mtime, usegmt=True),
            fetch_ms=seconds * 1000,
        )

    async def store(self, path: str, data: bytes) -> None:
        """Write an uploaded original, atomically: readers see the old file or the new one."""
        full = self.resolve(path)
        await asyncio.to_thread(_write_atomically, full, data)

    async def close(self) -> None:
        return None


def _check_lengths(path: str, inside: str) -> None:
    """Names and paths the file system would refuse as too long are the client's error."""
    longest = max(len(name.encode()) for name in path.split("/"))
    if longest > NAME_MAX or len((inside + path).encode()) >= PATH_MAX:
        raise InvalidPath(f"path {path[:64]!r}... is too long for the file system")


def _write_atomically(full: Path, data: bytes) -> None:
    full.parent.mkdir(parents=True, exist_ok=True)
    # Of a fixed length: any name the origin accepts leaves room for it.
    partial = full.with_name(f".upload-{os.getpid()}-{secrets.token_hex(4)}.partial")
    partial.write_bytes(data)
    partial.replace(full)


def _stat(full: Path, path: str) -> os.stat_result:
    try:
        stat = os.stat(full)
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound(f"{path} was not found at the origin") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise NotFound(f"{path} is a loop of links at the origin") from None
        raise
    if not stat_mode.S_ISREG(stat.st_mode):
        raise NotFound(f"{path} is not a file at the origin")
    return stat
