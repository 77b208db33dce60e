"""quality=auto: the binary search, its metrics, its targets and its bounds."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

from imgproxy.errors import InvalidParameter
from imgproxy.params.plan import AutoQuality
from imgproxy.pipeline import encode as encode_module
from imgproxy.pipeline.quality import MAX_SCORED_PIXELS, PRESETS, luma, mpe, search, smallfry, ssim
from tests.support.images import RED, animated, astronaut, pixels, png, solid

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


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_auto_quality_of_a_one_pixel_image_is_served(render, fmt):
    out = render(source(solid(1, 1, RED)), f"quality=auto&format={fmt}")
    assert (out.width, out.height) == (1, 1) and out.format == fmt and out.quality is not None


def test_auto_quality_scores_every_frame_of_an_animated_webp(render):
    frames = [astronaut().resize(0.25), astronaut().resize(0.25).fliphor()]
    webp = animated(frames).webpsave_buffer(lossless=True)
    out = render(webp, "quality=auto&format=webp", max_frames=4)
    sent = pyvips.Image.new_from_buffer(out.body, "", n=-1)
    assert (sent.width, sent.height, out.height) == (128, 256, 128) and 40 <= out.quality <= 90


def test_big_outputs_are_scored_on_a_view_of_about_two_megapixels():
    scored = luma(solid(4000, 3000, RED).copy(interpretation="srgb"))
    assert scored.size <= MAX_SCORED_PIXELS * 1.001
    assert abs(scored.shape[1] / scored.shape[0] - 4 / 3) < 0.01


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_the_file_sent_has_the_pixels_of_the_trial_that_was_scored(render, monkeypatch, fmt):
    scored: dict[int, bytes] = {}

    def spying(image, auto, encode, *pages):
        def remembered(quality: int) -> bytes:
            scored[quality] = encode(quality)
            return scored[quality]

        return search(image, auto, remembered, *pages)

    monkeypatch.setattr(encode_module, "search", spying)
    out = render(source(astronaut().resize(0.5)), f"quality=auto&format={fmt}&interlace=1")
    assert np.array_equal(pixels(out.body), pixels(scored[out.quality]))
