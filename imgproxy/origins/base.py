"""What every origin returns, and the small protocol origins share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Source:
    """An original image as fetched from an origin."""

    data: bytes
    validator: str
    last_modified: str | None = None
    fetch_ms: float = 0.0


class Origin(Protocol):
    """Where originals come from. Paths are relative, '/'-separated, already URL-decoded."""

    name: str

    async def validator(self, path: str) -> str | None:
        """A cheap version tag of the original, or None when only a fetch can tell."""

    async def fetch(self, path: str) -> Source:
        """The original's bytes; raises NotFound, OriginFailed, DeadlineExceeded, SourceTooLarge."""

    async def close(self) -> None:
        """Release connections."""
