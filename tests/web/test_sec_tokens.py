"""Bearer tokens and signatures compare any text offered: a wrong one is refused, never a 500."""

from __future__ import annotations

import pytest

from imgproxy.errors import ForbiddenByConfig
from imgproxy.signing import same_secret
from imgproxy.web.auth import bearer_matches
from imgproxy.web.uploads import check_token


@pytest.mark.parametrize("offered", ["Bearer \xe9", "Bearer t0ken\u2603", "Bearer \U0001f600"])
def test_a_non_ascii_upload_token_is_refused_with_401(offered):
    with pytest.raises(ForbiddenByConfig) as err:
        check_token(offered, "t0ken")
    assert err.value.status == 401


def test_the_right_upload_token_passes():
    check_token("Bearer t0ken", "t0ken")


def test_secrets_compare_as_utf8_text():
    assert same_secret("é", "é") and not same_secret("é", "e") and not same_secret("", "x")


def test_a_bearer_header_matches_only_a_configured_token():
    assert bearer_matches("bearer t0ken", "t0ken") and bearer_matches("Bearer  t0ken ", "t0ken")
    assert not bearer_matches("Bearer ", "") and not bearer_matches("Basic t0ken", "t0ken")
