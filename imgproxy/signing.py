"""Signed URLs: s = HMAC-SHA256 over the path and the sorted query without s (base64url)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from urllib.parse import quote, urlencode

from imgproxy.errors import BadSignature

SIGNATURE_PARAM = "s"


def _encode(text: str) -> str:
    # Every reserved character escaped, so that no key, value or path can pose as a separator.
    return quote(text, safe="")


def canonical(path: str, pairs: Iterable[tuple[str, str]]) -> bytes:
    """What is signed: '/path?k1=v1&k2=v2' with path, keys and values percent-encoded (UTF-8,
    nothing left unescaped but letters, digits and '_.-~'), pairs sorted, `s` left out."""
    kept = sorted((_encode(k), _encode(v)) for k, v in pairs if k != SIGNATURE_PARAM)
    query = "&".join(f"{key}={value}" for key, value in kept)
    return f"/{_encode(path.lstrip('/'))}?{query}".encode()


def signature(key: str, path: str, pairs: Iterable[tuple[str, str]]) -> str:
    digest = hmac.new(key.encode(), canonical(path, pairs), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def same_secret(offered: str, expected: str) -> bool:
    """Constant-time equality that also takes non-ASCII text (compare_digest refuses such str)."""
    return hmac.compare_digest(offered.encode(), expected.encode())


def verify(keys: Sequence[str], path: str, pairs: Sequence[tuple[str, str]]) -> None:
    """Raise BadSignature unless `s` matches one of `keys` (several allow rotation)."""
    given = [v for k, v in pairs if k == SIGNATURE_PARAM]
    if not given:
        raise BadSignature("this server needs signed URLs: the s parameter is missing", param="s")
    if len(given) > 1 or not any(
        same_secret(given[0], signature(key, path, pairs)) for key in keys
    ):
        raise BadSignature("the signature in s does not match this URL", param="s")


def signed_url(base: str, path: str, params: Iterable[tuple[str, str]], key: str) -> str:
    """`base`/`path`?params&s=..., ready for an <img src>."""
    pairs = list(params)
    pairs.append((SIGNATURE_PARAM, signature(key, path, pairs)))
    return f"{base.rstrip('/')}/{quote(path.lstrip('/'))}?{urlencode(pairs)}"
