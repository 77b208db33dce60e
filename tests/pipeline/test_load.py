"""Loading: EXIF orientation, shrink-on-load, limits, and originals that are not images."""

from __future__ import annotations

import pytest
import pyvips

from imgproxy.errors import SourceTooLarge, UndecodableImage
from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.pipeline.context import Context, RenderOptions
from imgproxy.pipeline.load import load, sniff
from tests.support.images import RED, close, grating, jpeg, pixels, png, quadrants, solid


def oriented_jpeg(orientation: int) -> bytes:
    """300x200 white with a red block in the stored top-left corner, tagged with `orientation`."""
    image = solid(300, 200, (255, 255, 255)).insert(solid(60, 40, RED), 0, 0).copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    return jpeg(image)


def loaded(data: bytes, query: str, options: RenderOptions | None = None) -> Context:
    pairs = [tuple(kv.split("=", 1)) for kv in query.split("&") if kv]
    ctx = Context(
        plan=decode(pairs, DecodeOptions()), data=data, options=options or RenderOptions()
    )
    load(ctx)
    return ctx


def test_autorotate_applies_exif_orientation_6(render):
    out = render(oriented_jpeg(6))
    px = pixels(out.body)
    assert (out.width, out.height) == (200, 300)
    assert close(px[10, 190], RED) and close(px[10, 10], (255, 255, 255))


def test_autorotate_removes_the_orientation_tag(render):
    out = render(oriented_jpeg(6))
    image = pyvips.Image.new_from_buffer(out.body, "")
    assert not image.get_typeof("orientation") or image.get("orientation") == 1


def test_autorotate_false_keeps_the_stored_pixels(render):
    out = render(oriented_jpeg(6), "autorotate=false")
    px = pixels(out.body)
    assert (out.width, out.height) == (300, 200)
    assert close(px[10, 10], RED)


def test_autorotate_false_drops_the_orientation_tag_so_viewers_show_the_stored_pixels(render):
    out = render(oriented_jpeg(6), "autorotate=false")
    image = pyvips.Image.new_from_buffer(out.body, "")
    assert (image.width, image.height) == (300, 200)
    for tag in ("orientation", "exif-ifd0-Orientation"):
        assert not image.get_typeof(tag) or str(image.get(tag)).startswith("1")


def test_width_applies_to_the_displayed_orientation(render):
    out = render(oriented_jpeg(6), "width=100")
    assert (out.width, out.height) == (100, 150)


@pytest.mark.parametrize(
    ("width", "shrink_to"), [(240, 500), (400, 1000), (600, 2000), (1200, 4000), (3000, 4000)]
)
def test_jpeg_shrink_on_load_leaves_twice_the_target_to_resample(width, shrink_to):
    ctx = loaded(jpeg(quadrants(4000, 3000), quality=70), f"width={width}")
    assert ctx.image.width == shrink_to
    assert ctx.logical_size == (4000, 3000)


@pytest.mark.parametrize(
    ("width", "shrink_to"),
    [(240, 500), (400, 500), (500, 500), (501, 1000), (1200, 2000), (2500, 4000)],
)
def test_fast_shrink_on_load_decodes_to_just_above_the_target(width, shrink_to):
    fast = RenderOptions(shrink_on_load="fast")
    ctx = loaded(jpeg(quadrants(4000, 3000), quality=70), f"width={width}", fast)
    assert ctx.image.width == shrink_to
    assert ctx.logical_size == (4000, 3000)


def test_fast_shrink_on_load_lets_stripes_finer_than_the_thumbnail_through_as_a_beat(render):
    stripes = jpeg(grating(4000, 3000, period=7.27))
    fine = pixels(render(stripes, "width=400").body).astype(float)
    fast = pixels(render(stripes, "width=400", shrink_on_load="fast").body).astype(float)
    assert fine.shape == fast.shape == (300, 400, 1)
    # Lanczos from 1000 px leaves flat grey; the 8 x 8 block average of a 500 px decode does not.
    assert fine.std() < 2 and abs(fine.mean() - 128) < 3
    assert fast.std() > 4 and fast.max() - fast.min() > 15


def test_webp_is_scaled_on_load():
    webp = quadrants(2000, 1000).webpsave_buffer(Q=70)
    ctx = loaded(webp, "width=500")
    assert 500 <= ctx.image.width < 2000


def test_trim_disables_shrink_on_load():
    ctx = loaded(jpeg(quadrants(4000, 3000), quality=70), "width=400&trim=color")
    assert ctx.image.width == 4000


def test_source_info_describes_the_original():
    ctx = loaded(jpeg(quadrants(400, 300), quality=77), "")
    info = ctx.info
    assert (info.format, info.width, info.height, info.pages) == ("jpeg", 400, 300, 1)
    assert info.quality == 77 and not info.has_alpha


def test_bytes_that_are_not_an_image_are_undecodable(render):
    with pytest.raises(UndecodableImage) as err:
        render(b"<html>not an image</html>", "width=10")
    assert err.value.status == 400


def test_a_truncated_png_is_undecodable_not_a_crash(render):
    data = png(quadrants(400, 300))
    with pytest.raises(UndecodableImage):
        render(data[: len(data) // 2], "width=10")


def test_originals_over_the_pixel_limit_are_refused(render):
    with pytest.raises(SourceTooLarge) as err:
        render(png(quadrants(400, 300)), "width=10", max_src_pixels=100_000)
    assert err.value.status == 413


@pytest.mark.parametrize(
    "query", ["trim=color", "auto_level=1", "auto_fix=1", "width=50&height=50&crop=face"]
)
@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_a_half_cut_original_is_undecodable_whatever_the_steps(render, query, fmt):
    whole = jpeg(quadrants(320, 240)) if fmt == "jpeg" else png(quadrants(320, 240))
    with pytest.raises(UndecodableImage):
        render(whole[: len(whole) // 2], query)


def test_libvips_loaders_marked_untrusted_are_blocked():
    # Straight to libvips, past the server's own SVG check: only the block refuses it.
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>'
    with pytest.raises(pyvips.Error):
        pyvips.Image.new_from_buffer(svg, "")


def test_formats_outside_the_web_formats_are_refused():
    with pytest.raises(UndecodableImage) as err:
        sniff(b"2 2\n1 2\n3 4\n")
    assert "matrix" in str(err.value)
