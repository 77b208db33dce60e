"""The 20 filters: distinct from the source and each other; simple ones match their definitions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import pyvips

from imgproxy.params.values import FILTER_NAMES
from imgproxy.pipeline.filters import RECIPES
from tests.support.images import BLUE, GREEN, RED, YELLOW, astronaut, png, quadrants

PHOTO = png(astronaut().resize(0.25))
QUAD = png(quadrants(40, 40))


def rgb(body: bytes) -> np.ndarray:
    return pyvips.Image.new_from_buffer(body, "").numpy().astype(int)


def test_every_filter_name_has_a_recipe():
    assert tuple(RECIPES) == FILTER_NAMES and len(FILTER_NAMES) == 20


def test_numbers_and_names_choose_the_same_filter(render):
    assert render(PHOTO, "filter=2").body == render(PHOTO, "filter=SEPIA").body


def test_every_filter_differs_from_the_source_and_from_every_other_filter(render):
    source = rgb(render(PHOTO, "format=png").body)
    outputs = {n: rgb(render(PHOTO, f"filter={n}&format=png").body) for n in range(1, 21)}
    for number, pixels in outputs.items():
        assert np.abs(pixels - source).mean() > 2, FILTER_NAMES[number - 1]
    for (one, a), (two, b) in itertools.combinations(outputs.items(), 2):
        assert np.abs(a - b).mean() > 1, (FILTER_NAMES[one - 1], FILTER_NAMES[two - 1])


def luma(color: tuple[int, int, int]) -> int:
    r, g, b = color
    return round(0.2126 * r + 0.7152 * g + 0.0722 * b)


def test_grayscale_is_rec709_luma_in_every_channel(render):
    px = rgb(render(QUAD, "filter=grayscale&format=png").body)
    for (y, x), color in {(5, 5): RED, (5, 35): GREEN, (35, 5): BLUE, (35, 35): YELLOW}.items():
        assert list(px[y, x]) == [luma(color)] * 3


def sepia(color: tuple[int, int, int]) -> list[int]:
    r, g, b = color
    rows = ((0.393, 0.769, 0.189), (0.349, 0.686, 0.168), (0.272, 0.534, 0.131))
    return [min(255, round(cr * r + cg * g + cb * b)) for cr, cg, cb in rows]


def test_sepia_is_the_sepia_matrix(render):
    px = rgb(render(QUAD, "filter=sepia&format=png").body)
    for (y, x), color in {(5, 5): RED, (5, 35): GREEN, (35, 5): BLUE, (35, 35): YELLOW}.items():
        assert np.abs(px[y, x] - sepia(color)).max() <= 1


def test_negate_inverts_every_channel(render):
    px = rgb(render(QUAD, "filter=negate&format=png").body)
    assert list(px[5, 5]) == [0, 255, 255] and list(px[35, 35]) == [0, 0, 255]


def test_bw_is_black_or_white_by_a_luma_threshold(render):
    px = rgb(render(QUAD, "filter=bw&format=png").body)
    assert list(px[5, 5]) == [0, 0, 0] and list(px[35, 35]) == [255, 255, 255]
    assert set(np.unique(px)) <= {0, 255}


@pytest.mark.parametrize("name", ["edgedetect", "emboss", "grayscale", "bw"])
def test_grey_filters_give_equal_channels(render, name):
    px = rgb(render(PHOTO, f"filter={name}&format=png").body)
    assert (px[..., 0] == px[..., 1]).all() and (px[..., 1] == px[..., 2]).all()


def test_sincity_keeps_strong_reds_and_greys_the_rest(render):
    px = rgb(render(QUAD, "filter=sincity&format=png").body)
    assert px[5, 5, 0] > 200 and px[5, 5, 1] < 40
    assert px[5, 35, 0] == px[5, 35, 1] == px[5, 35, 2]
