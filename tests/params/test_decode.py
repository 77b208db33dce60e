"""Query strings to plans: aliases, base64 twins, requires rules, errors naming the parameter."""

from __future__ import annotations

import base64
from urllib.parse import parse_qsl

import pytest

from imgproxy.errors import ForbiddenByConfig, InvalidParameter
from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.params.plan import Region
from imgproxy.params.spec import BY_NAME, PARAMS


def plan_of(query: str, **options: object):
    return decode(parse_qsl(query, keep_blank_values=True), DecodeOptions(**options))


def error_of(query: str, **options: object):
    with pytest.raises((InvalidParameter, ForbiddenByConfig)) as err:
        plan_of(query, **options)
    return err.value


def b64(text: str, *, padded: bool = True) -> str:
    value = base64.b64encode(text.encode()).decode()
    return value if padded else value.rstrip("=")


def test_aliases_equal_their_names():
    assert plan_of("w=400&h=300") == plan_of("width=400&height=300")


@pytest.mark.parametrize(
    "query",
    [
        "width=400&crop=fit&height=300&pad_color=rgb(255,0,0)",
        "rotate=30&crop=zoom&flip=true&format=webp&quality=70",
        "crop=center,10,100,50&trim=color&trim_color=000&interlace=1&strip_exif=yes",
    ],
)
def test_every_base64_twin_equals_its_plain_form(query):
    pairs = parse_qsl(query)
    twins = "&".join(f"{key}64={b64(value)}" for key, value in pairs)
    assert plan_of(twins.replace("+", "%2B")) == plan_of(query)


def test_base64_accepts_both_alphabets_with_or_without_padding():
    # ">>>?" encodes to "Pj4+Pw==" (standard) and "Pj4-Pw" (URL-safe, unpadded); a raw '+'
    # arrives as a space after form decoding and is read back as '+'.
    for value in ("Pj4%2BPw==", "Pj4-Pw", "Pj4+Pw"):
        error = error_of(f"width64={value}")
        assert error.param == "width64" and "'>>>?'" in error.message
    assert plan_of(f"pad=1&pad_color64={b64('#abc', padded=False)}") == plan_of(
        "pad=1&pad_color=abc"
    )


def test_base64_that_does_not_decode_is_400_naming_the_twin():
    error = error_of("width64=***")
    assert (error.status, error.param) == (400, "width64")


def test_both_twins_given_is_400():
    error = error_of(f"width=400&width64={b64('400')}")
    assert error.status == 400 and error.param == "width64"


def test_a_name_and_its_alias_together_is_400():
    assert error_of("width=400&w=400").param == "w"


def test_repeating_a_parameter_with_the_same_value_is_fine():
    assert plan_of("width=400&width=400") == plan_of("width=400")


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("width=abc", "width"),
        ("width=-5", "width"),
        ("width=0", "width"),
        ("width=99999", "width"),
        ("h=1.5", "h"),
        ("width=100&dpr=6", "dpr"),
        ("crop=1,2,3", "crop"),
        ("crop=a,b,10,10", "crop"),
        ("crop=0,0,0,10", "crop"),
        ("crop=sideways", "crop"),
        ("pad=5&pad_color=zzz", "pad_color"),
        ("quality=0", "quality"),
        ("quality=101", "quality"),
        ("format=bmp", "format"),
        ("flip=maybe", "flip"),
        ("rotate=nan", "rotate"),
        ("rotate=720", "rotate"),
        ("pad=-1", "pad"),
        ("trim=yes-please", "trim"),
        ("width=1_0", "width"),
        ("width=%2B5", "width"),
        ("width=%D9%A3", "width"),
        ("rotate=%EF%BC%99%EF%BC%90", "rotate"),
        ("rotate=1e2", "rotate"),
        ("crop=%D9%A3,0,10,10", "crop"),
        ("filter=%D9%A3", "filter"),
    ],
)
def test_malformed_values_are_400_naming_the_parameter(query, param):
    error = error_of(query)
    assert (error.status, error.code, error.param) == (400, "invalid_parameter", param)
    assert param in error.message


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("dpr=2", "dpr"),
        ("pad_color=red", "pad_color"),
        ("trim_color=red", "trim_color"),
    ],
)
def test_requires_rules_refuse_a_parameter_alone(query, param):
    error = error_of(query)
    assert error.param == param and "needs" in error.message


def test_pad_color_goes_with_pad_crop_rotate_or_flatten():
    for partner in ("pad=2", "width=10&height=10&crop=pad", "rotate=10", "flatten=1"):
        assert plan_of(f"{partner}&pad_color=red").geometry.pad_color == (255, 0, 0, 255)


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("cache_processed=true", "cache_processed"),
        ("cache_queries64=WyJ3aWR0aD0xMCJd", "cache_queries64"),
    ],
)
def test_post_controls_on_a_get_are_400(query, param):
    error = error_of(query)
    assert (error.status, error.code, error.param) == (400, "invalid_parameter", param)
    assert "POST" in error.message


def test_unknown_parameters_are_ignored_and_stay_out_of_the_key():
    plain = plan_of("width=300")
    tracked = plan_of("width=300&utm_source=mail&cb=123&foo64=xx")
    assert tracked == plain and tracked.key == plain.key


def test_strict_params_refuses_unknown_parameters():
    error = error_of("width=300&utm_source=mail", strict=True)
    assert error.param == "utm_source"


def test_image_params_allowed_forbids_the_others_with_401():
    assert plan_of("width=10", image_params_allowed=frozenset({"width"})).geometry.width == 10
    error = error_of("width=10&rotate=90", image_params_allowed=frozenset({"width"}))
    assert (error.status, error.param) == (401, "rotate")


def test_dpr_multiplies_width_and_height_and_enters_the_key():
    plan = plan_of("width=300&height=200&dpr=2")
    assert (plan.geometry.width, plan.geometry.height) == (600, 400)
    assert plan.key == plan_of("width=600&height=400").key
    assert plan.key != plan_of("width=300&height=200").key


def test_dpr_cannot_push_a_side_over_the_limit():
    assert error_of("width=3000&dpr=3", max_side=8192).param == "width"


def test_dpr_multiplies_the_crop_region_and_pad():
    geometry = plan_of("width=100&crop=center,10,50,25&pad=4&dpr=2").geometry
    assert geometry.region == Region(None, 20, 100, 50) and geometry.pad == 8
    assert plan_of("width=100&crop=3,1,3,1&dpr=1.5").geometry.region == Region(4, 2, 4, 2)


def test_the_rotation_remembers_its_key_for_errors_but_not_in_the_cache_key():
    assert plan_of("angle=45").geometry.rotate_param == "angle"
    assert plan_of("rotate64=NDU=&angle=10").geometry.rotate_param == "rotate64"
    assert plan_of("rotate=90").key == plan_of("angle=270").key


def test_region_crop_parses_center():
    assert plan_of("crop=center,10,100,50").geometry.region == Region(None, 10, 100, 50)


def test_rotate_and_angle_combine_into_a_clockwise_turn():
    assert plan_of("rotate=90").geometry.rotate == 90
    assert plan_of("angle=90").geometry.rotate == 270
    assert plan_of("rotate=-30").geometry.rotate == 330


def test_trim_enables_the_white_border_by_default():
    assert plan_of("trim=color").geometry.trim_color == (255, 255, 255, 255)
    assert plan_of("trim=color&trim_color=000").geometry.trim_color == (0, 0, 0, 255)


def test_preset_colors_resolve():
    plan = plan_of("pad=2&pad_color=Brand", presets={"brand": "#ff6600"})
    assert plan.geometry.pad_color == (255, 102, 0, 255)


def test_every_parameter_of_the_table_has_a_doc_and_unique_names():
    names = [alias for param in PARAMS for alias in (param.name, *param.aliases)]
    assert len(names) == len(set(names)) == len(BY_NAME)
    assert all(param.doc.endswith(".") for param in PARAMS)


def test_keys_differ_when_the_output_differs():
    keys = {plan_of(q).key for q in ("width=100", "width=101", "width=100&format=png", "flip=1")}
    assert len(keys) == 4
