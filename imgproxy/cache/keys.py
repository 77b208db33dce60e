"""Cache keys: what identifies one rendered result, and the tags that group entries."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imgproxy.params.plan import Plan


def result_key(
    origin: str, path: str, plan_key: str, format_token: str, validator: str, settings: str
) -> str:
    """Changes whenever the origin, the original's version, the plan, the chosen format or the
    server's render settings do."""
    text = "\n".join((origin, path, plan_key, format_token, validator, settings))
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def origin_key(kind: str, origin: str, path: str) -> str:
    return f"{kind}:{origin}:{path}"


def path_tag(origin: str, path: str) -> str:
    """The tag of every cached entry that derives from one original."""
    return f"{origin}\n{path}"


def plan_index_key(origin: str, path: str, plan_key: str) -> str:
    """The entry that lists the stored results of one plan of one original, whatever their
    version, format or render settings."""
    text = f"{path_tag(origin, path)}\n{plan_key}"
    return "plan:" + hashlib.sha256(text.encode()).hexdigest()[:40]


def digest(value: object) -> str:
    """A short digest of a value's repr, for settings that must enter a key."""
    return hashlib.sha256(repr(value).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ResultName:
    """Everything that names one rendered result; `settings` digests the render settings."""

    origin: str
    path: str
    plan_key: str
    format_token: str
    validator: str
    settings: str

    @cached_property
    def key(self) -> str:
        return result_key(
            self.origin, self.path, self.plan_key, self.format_token, self.validator, self.settings
        )

    @property
    def tag(self) -> str:
        return path_tag(self.origin, self.path)

    @property
    def index(self) -> str:
        return plan_index_key(self.origin, self.path, self.plan_key)


def format_token(wanted: str | None, accepts: frozenset[str]) -> str:
    """The part of the cache key that stands for the output format the request will get."""
    if wanted == "auto":
        return "auto:" + ",".join(sorted(accepts))
    return wanted or "source"


def result_name(
    origin: str,
    path: str,
    plan: Plan,
    accepts: frozenset[str],
    validator: str,
    render_digest: str,
) -> ResultName:
    """The name of `plan`'s result for a client accepting `accepts`, from this version of the
    original, under the render settings `render_digest` stands for."""
    token = format_token(plan.output.format, accepts)
    return ResultName(origin, path, plan.key, token, validator, render_digest)
