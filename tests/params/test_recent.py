"""Plans of recent queries are kept; failures and old queries are not."""

from __future__ import annotations

import pytest

from imgproxy.errors import InvalidParameter
from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.params.recent import RecentPlans


def decoded_again(*args: object) -> None:
    raise AssertionError("a kept query was decoded again")


def test_a_query_seen_again_gets_the_same_plan_without_decoding(monkeypatch):
    plans = RecentPlans(DecodeOptions())
    first = plans.decode([("width", "400"), ("format", "webp")])
    assert first == decode([("width", "400"), ("format", "webp")], DecodeOptions())
    monkeypatch.setattr("imgproxy.params.recent.decode", decoded_again)
    assert plans.decode([("width", "400"), ("format", "webp")]) is first


def test_a_query_in_another_order_or_form_is_decoded_on_its_own():
    plans = RecentPlans(DecodeOptions())
    plain = plans.decode([("width", "400"), ("height", "300")])
    swapped = plans.decode([("height", "300"), ("width", "400")])
    assert swapped is not plain and swapped == plain
    assert plans.decode([("width64", "NDAw")]).geometry.width == 400


def test_a_failing_query_fails_every_time_and_is_not_kept():
    plans = RecentPlans(DecodeOptions())
    for _ in range(2):
        with pytest.raises(InvalidParameter) as raised:
            plans.decode([("width", "abc")])
        assert raised.value.param == "width"
    assert plans.decode([("width", "10")]).geometry.width == 10


def test_the_oldest_query_goes_first_when_the_plans_are_full():
    plans = RecentPlans(DecodeOptions(), size=2)
    a = plans.decode([("width", "1")])
    b = plans.decode([("width", "2")])
    assert plans.decode([("width", "1")]) is a  # now the most recent
    plans.decode([("width", "3")])  # pushes out width=2
    assert plans.decode([("width", "1")]) is a
    assert plans.decode([("width", "2")]) is not b


def test_a_kept_plans_key_is_the_key_of_the_same_plan_decoded_afresh():
    plans = RecentPlans(DecodeOptions())
    pairs = [("width", "300"), ("crop", "face"), ("quality", "70")]
    kept = plans.decode(pairs)
    assert plans.decode(pairs).key == kept.key == decode(pairs, DecodeOptions()).key
    assert plans.decode([("width", "301"), ("crop", "face"), ("quality", "70")]).key != kept.key
