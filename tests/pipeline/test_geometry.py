"""Geometry parameters, checked on sizes and on pixels at known spots."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

from imgproxy.errors import InvalidParameter
from tests.support.images import (
    BLUE,
    GREEN,
    RED,
    YELLOW,
    close,
    halves,
    jpeg,
    pixels,
    png,
    quadrants,
    solid,
    transparent_square,
)

WHITE = (255, 255, 255)
QUAD = png(quadrants(200, 100))


def test_width_alone_keeps_the_aspect_ratio(render):
    out = render(QUAD, "width=100")
    assert (out.width, out.height) == (100, 50)


def test_height_alone_keeps_the_aspect_ratio(render):
    out = render(QUAD, "h=25")
    assert (out.width, out.height) == (50, 25)


def test_width_and_height_without_crop_fit_inside_the_box(render):
    out = render(QUAD, "width=100&height=100")
    assert (out.width, out.height) == (100, 50)


def test_dpr_multiplies_the_requested_width(render):
    out = render(QUAD, "dpr=2&width=30")
    assert (out.width, out.height) == (60, 30)


def test_upscaling_is_allowed_by_default_and_can_be_turned_off(render):
    assert render(QUAD, "width=400").width == 400
    assert render(QUAD, "width=400", allow_upscale=False).width == 200


def test_crop_fit_fills_the_box_and_keeps_the_centre(render):
    out = render(QUAD, "width=50&height=50&crop=fit")
    px = pixels(out.body)
    assert (out.width, out.height) == (50, 50)
    assert close(px[5, 5], RED) and close(px[5, 45], GREEN)
    assert close(px[45, 5], BLUE) and close(px[45, 45], YELLOW)


@pytest.mark.parametrize(("mode", "kept"), [("top", RED), ("bottom", BLUE)])
def test_crop_top_and_bottom_keep_those_rows(render, mode, kept):
    tall = png(halves(100, 200, RED, BLUE))
    out = render(tall, f"width=100&height=100&crop={mode}")
    px = pixels(out.body)
    assert (out.width, out.height) == (100, 100)
    assert close(px[2, 50], kept) and close(px[97, 50], kept)


def test_crop_pad_leaves_pad_color_bars_above_and_below_a_wide_image(render):
    out = render(png(solid(200, 100, RED)), "width=100&height=100&crop=pad&pad_color=blue")
    px = pixels(out.body)
    assert (out.width, out.height) == (100, 100)
    assert close(px[5, 50], BLUE) and close(px[95, 50], BLUE)
    assert close(px[50, 50], RED)


def test_crop_pad_bars_are_white_by_default_and_at_the_sides_of_a_tall_image(render):
    out = render(png(solid(50, 100, RED)), "width=100&height=100&crop=pad")
    px = pixels(out.body)
    assert close(px[50, 5], WHITE) and close(px[50, 95], WHITE) and close(px[50, 50], RED)


def test_crop_pad_with_transparent_colour_adds_alpha(render):
    out = render(png(solid(200, 100, RED)), "width=100&height=100&crop=pad&pad_color=0000")
    px = pixels(out.body)
    assert out.format == "png" and px.shape[2] == 4
    assert px[5, 50, 3] == 0 and px[50, 50, 3] == 255


def test_crop_stretch_ignores_the_aspect_ratio(render):
    out = render(QUAD, "width=60&height=90&crop=stretch")
    px = pixels(out.body)
    assert (out.width, out.height) == (60, 90)
    assert close(px[10, 10], RED) and close(px[80, 50], YELLOW)


@pytest.mark.parametrize("mode", ["fit", "top", "bottom", "pad", "stretch"])
def test_box_crop_modes_need_width_and_height(render, mode):
    with pytest.raises(InvalidParameter) as err:
        render(QUAD, f"width=50&crop={mode}")
    assert err.value.param == "crop"


def test_region_crop_cuts_the_given_rectangle(render):
    out = render(QUAD, "crop=110,10,40,30")
    px = pixels(out.body)
    assert (out.width, out.height) == (40, 30)
    assert close(px[0, 0], GREEN) and close(px[29, 39], GREEN)


def test_region_crop_uses_scaled_coordinates_after_width(render):
    out = render(QUAD, "width=100&crop=50,25,50,25")
    px = pixels(out.body)
    assert (out.width, out.height) == (50, 25)
    assert close(px[12, 25], YELLOW)


def test_region_crop_center_centres_on_that_axis(render):
    out = render(QUAD, "crop=center,center,20,20")
    px = pixels(out.body)
    assert (out.width, out.height) == (20, 20)
    assert close(px[2, 2], RED) and close(px[17, 17], YELLOW)


def test_region_crop_is_clamped_to_the_image(render):
    out = render(QUAD, "crop=150,50,100,100")
    assert (out.width, out.height) == (50, 50)


def test_region_crop_outside_the_image_names_crop(render):
    with pytest.raises(InvalidParameter) as err:
        render(QUAD, "crop=500,0,10,10")
    assert err.value.param == "crop"


def test_rotate_90_swaps_dimensions_and_moves_the_top_left_corner_right(render):
    out = render(QUAD, "rotate=90")
    px = pixels(out.body)
    assert (out.width, out.height) == (100, 200)
    assert close(px[5, 95], RED) and close(px[5, 5], BLUE)


def test_angle_turns_counter_clockwise(render):
    px = pixels(render(QUAD, "angle=90").body)
    assert close(px[195, 5], RED) and close(px[5, 5], GREEN)


def test_rotate_180_puts_the_top_left_corner_bottom_right(render):
    px = pixels(render(QUAD, "rotate=180").body)
    assert close(px[95, 195], RED) and close(px[5, 5], YELLOW)


def test_small_rotation_fills_the_corners_with_pad_color(render):
    out = render(QUAD, "rotate=30&pad_color=blue")
    px = pixels(out.body)
    assert out.width > 200 and out.height > 100
    assert close(px[0, 0], BLUE)


def test_crop_zoom_removes_the_corners_of_a_rotation(render):
    out = render(png(solid(200, 100, RED)), "rotate=30&crop=zoom")
    px = pixels(out.body)
    assert out.width < 200 and out.height < 100
    assert abs(out.width / out.height - 2) < 0.05
    for y, x in [(0, 0), (0, out.width - 1), (out.height - 1, 0), (out.height - 1, out.width - 1)]:
        assert close(px[y, x], RED, tolerance=40)


def test_crop_zoom_needs_a_rotation(render):
    with pytest.raises(InvalidParameter) as err:
        render(QUAD, "crop=zoom")
    assert err.value.param == "crop"


def test_flip_mirrors_horizontally(render):
    px = pixels(render(QUAD, "flip=true").body)
    assert close(px[5, 195], RED) and close(px[5, 5], GREEN) and close(px[95, 5], YELLOW)


def test_pad_adds_pixels_of_pad_color_on_every_side(render):
    out = render(QUAD, "pad=10&pad_color=ff00ff")
    px = pixels(out.body)
    assert (out.width, out.height) == (220, 120)
    assert close(px[0, 0], (255, 0, 255)) and close(px[119, 219], (255, 0, 255))
    assert close(px[15, 15], RED)


def test_pad_is_white_by_default(render):
    px = pixels(render(QUAD, "pad=5").body)
    assert close(px[2, 100], WHITE)


def test_flatten_blends_alpha_onto_pad_color(render):
    out = render(png(transparent_square(100)), "flatten=true&pad_color=blue")
    px = pixels(out.body)
    assert px.shape[2] == 3
    assert close(px[5, 5], BLUE) and close(px[50, 50], RED)


def test_resize_keeps_alpha_and_does_not_darken_edges(render):
    out = render(png(transparent_square(100)), "width=50")
    px = pixels(out.body)
    assert out.format == "png" and px.shape[2] == 4
    assert px[2, 2, 3] == 0 and px[25, 25, 3] == 255 and close(px[25, 25], RED)


@pytest.mark.parametrize("turned", [False, True], ids=["width", "height"])
def test_a_stretch_along_one_side_keeps_hidden_colour_out_of_the_edges(render, turned):
    """Transparent green beside opaque red, shrunk along one side only: no green edge."""
    hidden = solid(100, 40, (*GREEN, 0)).insert(solid(50, 40, (*RED, 255)), 50, 0)
    size = "width=40&height=50" if turned else "width=50&height=40"
    out = render(png(hidden.rot90() if turned else hidden), f"{size}&crop=stretch")
    px = pixels(out.body)
    visible = px[..., 3] > 0
    assert visible.any() and px[..., 1][visible].max() == 0


def test_trim_removes_a_white_border(render):
    bordered = solid(100, 80, WHITE).insert(solid(40, 20, BLUE), 30, 10)
    out = render(png(bordered), "trim=color")
    px = pixels(out.body)
    assert (out.width, out.height) == (40, 20)
    assert close(px[0, 0], BLUE) and close(px[19, 39], BLUE)


def test_trim_color_names_the_border_to_remove(render):
    bordered = solid(100, 80, (0, 0, 0)).insert(solid(40, 20, RED), 5, 50)
    out = render(png(bordered), "trim=color&trim_color=black")
    assert (out.width, out.height) == (40, 20)


def test_trim_then_width_scales_the_trimmed_image(render):
    bordered = solid(100, 80, WHITE).insert(solid(40, 20, BLUE), 30, 10)
    out = render(png(bordered), "trim=color&width=20")
    assert (out.width, out.height) == (20, 10)


def test_output_side_over_the_limit_names_the_parameter(render):
    tall = png(solid(10, 1000, RED))
    with pytest.raises(InvalidParameter) as err:
        render(tall, "width=100", max_out_side=2000)
    assert err.value.param == "width"


def test_large_jpeg_is_shrunk_on_load_and_still_exact(render):
    big = jpeg(quadrants(4000, 3000), quality=80)
    out = render(big, "width=400")
    px = pixels(out.body)
    assert (out.width, out.height) == (400, 300)
    assert close(px[10, 10], RED) and close(px[290, 390], YELLOW)


def test_trim_leaves_an_image_that_is_all_border_whole(render):
    out = render(png(solid(30, 20, WHITE)), "trim=color")
    assert (out.width, out.height) == (30, 20)


@pytest.mark.parametrize("size", [(1, 1), (2, 2), (2, 40), (40, 1)])
def test_trim_leaves_an_image_thinner_than_three_pixels_whole(render, size):
    out = render(png(solid(*size, RED)), "trim=color")
    assert (out.width, out.height) == size
    assert close(pixels(out.body)[0, 0], RED)


@pytest.mark.parametrize(
    ("query", "limit", "param"),
    [
        ("width=8192&pad=2000", 8192, "pad"),
        ("width=8192&height=8192&crop=pad&pad=100", 8192, "pad"),
        ("width=8000&rotate=45", 8192, "rotate"),
        ("width=8000&angle=45", 8192, "angle"),
        ("width=2000&rotate64=NDU=", 2000, "rotate64"),
    ],
)
def test_parameters_that_push_the_output_over_the_side_limit_are_400_naming_them(
    render, query, limit, param
):
    with pytest.raises(InvalidParameter) as err:
        render(QUAD, query, max_out_side=limit)
    assert err.value.param == param
    assert f"over the {limit} px limit" in err.value.message


def test_rotation_and_pad_within_the_side_limit_are_served(render):
    out = render(QUAD, "width=1000&rotate=45&pad=10", max_out_side=1100)
    assert (out.width, out.height) == (1081, 1081)


@pytest.mark.parametrize(("size", "capped"), [((12000, 50), (8192, 34)), ((9000, 100), (8192, 91))])
def test_an_original_over_the_side_limit_without_width_or_height_is_scaled_to_fit(
    render, size, capped
):
    out = render(png(halves(*size, RED, BLUE)), "")
    px = pixels(out.body)
    assert (out.width, out.height) == capped
    assert close(px[0, 0], RED) and close(px[-1, -1], BLUE)


def test_a_region_of_a_capped_original_is_cut_from_the_scaled_image(render):
    out = render(png(quadrants(4000, 1000)), "crop=1000,0,1000,500", max_out_side=2000)
    px = pixels(out.body)
    assert (out.width, out.height) == (1000, 500)
    assert close(px[10, 10], GREEN) and close(px[490, 990], YELLOW)


def test_dpr_multiplies_the_crop_region(render):
    one = render(QUAD, "width=100&crop=50,0,50,50")
    two = render(QUAD, "width=100&crop=50,0,50,50&dpr=2")
    assert (one.width, one.height) == (50, 50) and (two.width, two.height) == (100, 100)
    assert close(pixels(one.body)[10, 10], GREEN) and close(pixels(one.body)[40, 40], YELLOW)
    assert close(pixels(two.body)[20, 20], GREEN) and close(pixels(two.body)[80, 80], YELLOW)


def test_dpr_multiplies_pad(render):
    out = render(QUAD, "width=100&pad=5&pad_color=blue&dpr=2")
    px = pixels(out.body)
    assert (out.width, out.height) == (220, 120)
    assert close(px[9, 50], BLUE) and close(px[12, 12], RED)


def _edge(profile: np.ndarray, near: float, dark: float = 40, light: float = 220) -> float:
    """Where a dark-to-light step lies in `profile`, in output pixels (pixel i spans i to i+1),
    from the light it holds within 12 pixels of `near`: sampling and ringing do not move it."""
    low, high = int(near) - 12, int(near) + 12
    return (light * high - dark * low - profile[low:high].sum()) / (light - dark)


# The stored image that each EXIF orientation turns into the one displayed.
STORED_AS = {
    1: lambda image: image,
    3: lambda image: image.rot180(),
    6: lambda image: image.rot270(),
    8: lambda image: image.rot90(),
}


@pytest.mark.parametrize("orientation", sorted(STORED_AS))
@pytest.mark.parametrize("shrink_on_load", ["fine", "fast"])
def test_a_shrunk_jpegs_thumbnail_lines_up_with_the_original_to_its_last_pixel(
    render, shrink_on_load, orientation
):
    # 4,007 x 3,007 decodes at 1/4 to 1,001 x 751 and at 1/8 to 500 x 375 whole pixels: the
    # part pixel, 3/4 and 7/8 of one, is missing at the stored right and bottom, which the
    # orientation turns to the left or top.
    width, height = 4007, 3007
    corner = solid(width - 3800, height - 2800, (220,))
    shown = solid(width, height, (40,)).insert(corner, 3800, 2800)
    stored = STORED_AS[orientation](shown).copy(interpretation="b-w")
    stored.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    out = render(jpeg(stored, quality=95), "width=400", shrink_on_load=shrink_on_load)
    thumb = pixels(out.body)[..., 0].astype(float)
    assert thumb.shape == (300, 400)
    # The corner starts at 3800 x 400 / 4007 = 379.34 and 2800 x 300 / 3007 = 279.35. Scaled
    # from the whole pixels alone, it came 0.29 (1/4) and 0.66 px (1/8) late.
    assert _edge(thumb[295, :], 379.34) == pytest.approx(379.34, abs=0.1)
    assert _edge(thumb[:, 395], 279.35) == pytest.approx(279.35, abs=0.1)


@pytest.mark.parametrize("shrink_on_load", ["fine", "fast"])
def test_a_shrunk_jpeg_stretched_to_one_pixel_a_side(render, shrink_on_load):
    data = jpeg(solid(4001, 3001, (90, 90, 90)), quality=80)
    for query, size in (("width=600&height=1", (600, 1)), ("width=1&height=600", (1, 600))):
        out = render(data, f"{query}&crop=stretch", shrink_on_load=shrink_on_load)
        assert (out.width, out.height) == size
        assert close(pixels(out.body)[0, 0], (90, 90, 90), tolerance=3)
