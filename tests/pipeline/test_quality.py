"""quality=auto: the binary search, its metrics, its targets and its bounds."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

from imgproxy.errors import InvalidParameter
from imgproxy.params.plan import AutoQuality
from imgproxy.pipeline.quality import PRESETS, luma, mpe, search, smallfry, ssim
from tests.support.images import astronaut, png

SMOOTH = (
    pyvips.Image.xyz(320, 240)[0]
    .cast("uchar")
    .bandjoin([pyvips.Image.xyz(320, 240)[1].cast("uchar")] * 2)
)
NOISY = pyvips.Image.new_from_array(
    np.random.default_rng(7).integers(0, 256, (240, 320, 3), dtype=np.uint8)
)


def source(image: pyvips.Image) -> bytes:
    return png(image.copy(interpretation="srgb"))


def test_a_smooth_image_gets_a_lower_quality_than_a_noisy_one(render):
    smooth = render(source(SMOOTH), "quality=auto&format=jpeg")
    noisy = render(source(NOISY), "quality=auto&format=jpeg")
    assert smooth.quality < noisy.quality


@pytest.mark.parametrize("method", ["ssim", "mpe", "smallfry"])
def test_the_chosen_quality_meets_its_target(render, method):
    photo = astronaut().resize(0.75)
    out = render(source(photo), f"quality=auto&quality_method={method}&format=jpeg")
    score = {"ssim": ssim, "mpe": mpe, "smallfry": smallfry}[method]
    achieved = score(luma(photo), luma(pyvips.Image.new_from_buffer(out.body, "")))
    target = PRESETS[method]["medium"]
    assert achieved <= target if method == "mpe" else achieved >= target
    assert 40 <= out.quality < 90


def test_quality_target_overrides_the_preset(render):
    photo = source(astronaut().resize(0.75))
    loose = render(photo, "quality=auto&quality_target=0.9&format=jpeg")
    strict = render(photo, "quality=auto&quality_target=0.99&format=jpeg")
    assert loose.quality < strict.quality and len(loose.body) < len(strict.body)


def test_the_choice_stays_within_quality_min_and_quality_max(render):
    capped = render(source(NOISY), "quality=auto&quality_max=70&format=jpeg")
    floored = render(source(SMOOTH), "quality=auto&quality_min=80&quality_max=95&format=jpeg")
    assert capped.quality <= 70 and 80 <= floored.quality <= 95


def test_presets_order_the_qualities(render):
    photo = source(astronaut().resize(0.75))
    chosen = [
        render(photo, f"quality=auto&quality_preset={preset}&format=jpeg").quality
        for preset in ("low", "medium", "high")
    ]
    assert chosen == sorted(chosen) and chosen[0] < chosen[2]


def test_the_search_encodes_at_most_quality_attempts_times():
    image = astronaut().resize(0.25).copy_memory()
    tried: list[int] = []

    def encode(quality: int) -> bytes:
        tried.append(quality)
        return image.jpegsave_buffer(Q=quality)

    search(image, AutoQuality(attempts=3), encode)
    assert len(tried) == 3 and tried[0] == 65


def test_auto_quality_works_for_webp_and_is_ignored_by_png(render):
    webp = render(source(astronaut().resize(0.5)), "quality=auto&format=webp")
    assert webp.format == "webp" and 40 <= webp.quality <= 90
    assert render(source(SMOOTH), "quality=auto&format=png").quality is None


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("quality=80&quality_method=ssim", "quality_method"),
        ("quality_min=50", "quality_min"),
        ("quality=auto&quality_min=80&quality_max=60", "quality_min"),
        ("quality=auto&quality_target=1.5", "quality_target"),
        ("quality=auto&quality_method=mpe&quality_target=300", "quality_target"),
        ("quality=auto&quality_preset=ultra", "quality_preset"),
        ("quality=auto&quality_method=psnr", "quality_method"),
        ("quality=auto&quality_attempts=0", "quality_attempts"),
    ],
)
def test_bad_auto_quality_parameters_are_400(render, query, param):
    with pytest.raises(InvalidParameter) as err:
        render(source(SMOOTH), query)
    assert err.value.param == param
