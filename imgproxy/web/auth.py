"""Bearer tokens, as POST and the admin API take them."""

from __future__ import annotations

from imgproxy.signing import same_secret


def bearer_matches(authorization: str, token: str) -> bool:
    """Whether an Authorization header is `Bearer <token>`; an empty token matches nothing."""
    scheme, _, offered = authorization.partition(" ")
    return bool(token) and scheme.lower() == "bearer" and same_secret(offered.strip(), token)
