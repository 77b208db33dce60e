"""Cache keys: what identifies one rendered result."""

from __future__ import annotations

import hashlib


def result_key(origin: str, path: str, plan_key: str, format_token: str, validator: str) -> str:
    """Changes whenever the origin, the original's version, the plan or the chosen format does."""
    text = "\n".join((origin, path, plan_key, format_token, validator))
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def origin_key(kind: str, origin: str, path: str) -> str:
    return f"{kind}:{origin}:{path}"


def path_tag(origin: str, path: str) -> str:
    """The tag of every cached entry that derives from one original."""
    return f"{origin}\n{path}"
