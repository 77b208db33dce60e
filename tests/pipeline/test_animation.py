"""Animated GIF and WebP: frames and delays survive every step; MP4 out of an animation."""

from __future__ import annotations

import io
import itertools
import struct
from collections.abc import Iterator

import av
import numpy as np
import pytest
import pyvips
from PIL import Image

from imgproxy.errors import SourceTooLarge
from imgproxy.pipeline import animation as frames_module
from imgproxy.pipeline.animation import decoded, framed, join, least_alpha, solid_alpha, split
from imgproxy.pipeline.resample import resample, resample_frames
from tests.conftest import Render
from tests.support.browser import chromium
from tests.support.images import (
    BLUE,
    GREEN,
    RED,
    YELLOW,
    animated,
    astronaut,
    close,
    halves,
    png,
    quadrants,
    solid,
)

COLOURS = (RED, GREEN, BLUE, YELLOW)
DELAYS = [100, 200, 300, 150]


def animation(width: int = 80, height: int = 60) -> pyvips.Image:
    """Four frames, one colour each, with a white marker square in the top-left corner."""
    frames = [
        solid(width, height, colour).draw_rect([255, 255, 255], 0, 0, 10, 10, fill=True)
        for colour in COLOURS
    ]
    strip = pyvips.Image.arrayjoin(frames, across=1).copy(interpretation="srgb")
    strip.set_type(pyvips.GValue.gint_type, "page-height", height)
    strip.set_type(pyvips.GValue.array_int_type, "delay", DELAYS)
    strip.set_type(pyvips.GValue.gint_type, "loop", 0)
    return strip


GIF = animation().gifsave_buffer()
WEBP = animation().webpsave_buffer(lossless=True)


def frames_of(body: bytes) -> tuple[list[np.ndarray], list[int]]:
    animatable = body.startswith(b"GIF") or body[8:12] == b"WEBP"
    image = pyvips.Image.new_from_buffer(body, "", **({"n": -1} if animatable else {}))
    height = image.get("page-height") if image.get_typeof("page-height") else image.height
    pixels = image.numpy()
    count = image.height // height
    delays = list(image.get("delay")) if image.get_typeof("delay") else []
    return [pixels[i * height : (i + 1) * height] for i in range(count)], delays


def test_by_default_only_the_first_frame_is_served(render):
    frames, _ = frames_of(render(GIF, "width=40").body)
    assert len(frames) == 1 and close(frames[0][20, 30], RED)


@pytest.mark.parametrize("source", [GIF, WEBP], ids=["gif", "webp"])
def test_frames_and_delays_survive_a_resize(render, source):
    out = render(source, "width=40", max_frames=10)
    frames, delays = frames_of(out.body)
    assert (out.width, out.height) == (40, 30)
    assert len(frames) == 4 and delays == DELAYS
    for frame, colour in zip(frames, COLOURS, strict=True):
        assert frame.shape[:2] == (30, 40) and close(frame[20, 30], colour)


def test_every_frame_goes_through_geometry_and_adjustments(render):
    out = render(GIF, "width=40&rotate=90&flip=true&filter=negate&format=gif", max_frames=10)
    frames, delays = frames_of(out.body)
    assert (out.width, out.height) == (30, 40) and len(frames) == 4 and delays == DELAYS
    for frame, (r, g, b) in zip(frames, COLOURS, strict=True):
        assert close(frame[35, 20], (255 - r, 255 - g, 255 - b))
        assert close(frame[2, 2], (0, 0, 0))


def test_frames_no_step_changes_are_not_joined_again(render, monkeypatch):
    joins = []
    real_join = frames_module.join
    monkeypatch.setattr(frames_module, "join", lambda *args: joins.append(1) or real_join(*args))
    frames, delays = frames_of(render(GIF, "width=40", max_frames=10).body)
    assert joins == [] and len(frames) == 4 and delays == DELAYS
    assert all(close(frame[20, 30], colour) for frame, colour in zip(frames, COLOURS, strict=True))
    frames, _ = frames_of(render(GIF, "width=40&filter=negate", max_frames=10).body)
    assert joins == [1] and close(frames[0][20, 30], (0, 255, 255))


def test_a_strip_kept_as_it_is_reads_as_its_frames_joined():
    strip = animation()
    joined, kept = join(split(strip, 4), strip), framed(strip, 4, strip)
    assert np.array_equal(kept.numpy(), joined.numpy())
    for field in ("page-height", "delay", "loop"):
        assert kept.get(field) == joined.get(field)


def test_animated_webp_output_keeps_frames(render):
    out = render(GIF, "width=40&format=webp", max_frames=10)
    frames, delays = frames_of(out.body)
    assert out.body[8:12] == b"WEBP" and len(frames) == 4 and delays == DELAYS


def test_format_auto_keeps_animations_moving(render):
    webp = render(GIF, "format=auto", max_frames=10, accepts=frozenset({"avif", "webp"}))
    old = render(GIF, "format=auto", max_frames=10, accepts=frozenset({"avif"}))
    assert webp.format == "webp" and old.format == "gif"
    assert len(frames_of(old.body)[0]) == 4


def test_a_still_output_format_takes_the_first_frame(render):
    out = render(GIF, "format=png", max_frames=10)
    frames, _ = frames_of(out.body)
    assert len(frames) == 1 and close(frames[0][30, 40], RED)


def test_mp4_decodes_to_the_right_size_frames_and_timing(render):
    out = render(GIF, "width=40&format=mp4", max_frames=10)
    assert out.media_type == "video/mp4" and out.body[4:8] == b"ftyp"
    with av.open(io.BytesIO(out.body)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 4
    assert (frames[0].width, frames[0].height) == (40, 30)
    assert [round(frame.time, 2) for frame in frames] == [0.0, 0.1, 0.3, 0.6]
    assert close(frames[1].to_ndarray(format="rgb24")[20, 30], GREEN, tolerance=30)


def test_mp4_sizes_are_rounded_down_to_even_numbers(render):
    out = render(GIF, "width=41&format=mp4", max_frames=10)
    with av.open(io.BytesIO(out.body)) as container:
        frame = next(container.decode(video=0))
    assert (frame.width, frame.height) == (40, 30)


def test_mp4_is_ignored_for_a_still_image(render):
    out = render(png(quadrants()), "width=50&format=mp4", max_frames=10)
    assert out.format == "png"


def test_mp4_is_ignored_when_animation_is_not_allowed(render):
    assert render(GIF, "format=mp4").format == "gif"


def test_more_frames_than_allowed_is_413(render):
    with pytest.raises(SourceTooLarge) as err:
        render(GIF, "width=10", max_frames=3)
    assert err.value.status == 413 and "frames" in err.value.message


def test_the_pixel_limit_counts_every_frame(render):
    render(GIF, "width=10", max_frames=10, max_src_pixels=80 * 60 * 4)
    with pytest.raises(SourceTooLarge):
        render(GIF, "width=10", max_frames=10, max_src_pixels=80 * 60 * 4 - 1)


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_more_frames_than_allowed_still_serve_a_still_output(render, fmt):
    out = render(GIF, f"width=40&format={fmt}", max_frames=3)
    frames, _ = frames_of(out.body)
    assert len(frames) == 1 and (out.width, out.height) == (40, 30)
    assert close(frames[0][20, 30], RED)


def ramp(width: int, height: int, lo: int, hi: int) -> pyvips.Image:
    """Grey, from `lo` at the left edge to `hi` at the right one."""
    values = pyvips.Image.xyz(width, height)[0] * ((hi - lo) / (width - 1)) + lo
    return values.cast("uchar").bandjoin([values.cast("uchar")] * 2)


def noise(width: int, height: int, bands: int = 3) -> pyvips.Image:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (height, width, bands), dtype=np.uint8)
    return pyvips.Image.new_from_array(pixels)


@pytest.mark.parametrize("query", ["auto_level=true", "auto_fix=true"])
def test_automatic_levels_are_measured_once_so_frames_do_not_flicker(render, query):
    dull = ramp(40, 60, 100, 150)
    still = dull.join(solid(40, 60, (125, 125, 125)), "horizontal")
    contrasty = dull.join(halves(40, 60, (0, 0, 0), (255, 255, 255)), "horizontal")
    out = render(
        animated([still, contrasty]).webpsave_buffer(lossless=True),
        f"{query}&format=webp",
        max_frames=4,
    )
    frames, _ = frames_of(out.body)
    first, second = (frame[:, :36].astype(int) for frame in frames)
    assert first.max() - first.min() > 150
    assert np.abs(first - second).mean() < 4


def test_crop_entropy_cuts_every_frame_at_the_first_frames_window(render):
    top = ramp(200, 10, 0, 255)
    textured = noise(100, 90).join(solid(100, 90, (128, 128, 128)), "horizontal")
    frames = [top.join(textured, "vertical"), top.join(textured.fliphor(), "vertical")]
    out = render(
        animated(frames).webpsave_buffer(lossless=True),
        "width=50&height=100&crop=entropy",
        max_frames=4,
    )
    first, second = (frame[5, :, :3].astype(int) for frame in frames_of(out.body)[0])
    assert first.mean() < 80 and np.abs(first - second).mean() < 6


def window_left(frame: np.ndarray, whole: np.ndarray) -> int:
    """Where `frame` sits along the width of `whole`: the column of the best match."""
    width = frame.shape[1]
    misses = [
        np.abs(whole[:, left : left + width].astype(int) - frame.astype(int)).mean()
        for left in range(whole.shape[1] - width + 1)
    ]
    return int(np.argmin(misses))


def test_crop_face_cuts_every_frame_at_the_first_frames_faces(render):
    photo = astronaut().resize(0.5)
    out = render(
        animated([photo, photo.fliphor()]).webpsave_buffer(lossless=True),
        "width=50&height=100&crop=face",
        max_frames=4,
    )
    first, second = frames_of(out.body)[0]
    small = photo.resize(100 / 256)
    straight, mirrored = small.numpy(), small.fliphor().numpy()
    assert window_left(first, straight) == window_left(second, mirrored) < 25


def test_an_opaque_animation_keeps_its_frames_delays_and_loop_count_as_gif(render):
    strip = animation()
    strip.set_type(pyvips.GValue.gint_type, "loop", 3)
    out = render(strip.gifsave_buffer(), "width=40&format=gif", max_frames=10)
    frames, delays = frames_of(out.body)
    assert len(frames) == 4 and delays == DELAYS
    assert pyvips.Image.new_from_buffer(out.body, "", n=-1).get("loop") == 3
    for frame, colour in zip(frames, COLOURS, strict=True):
        assert close(frame[20, 30], colour) and close(frame[2, 2], (255, 255, 255))


def image_descriptors(body: bytes) -> Iterator[int]:
    """Where each image descriptor of a GIF file starts."""
    packed = body[10]
    pos = 13 + (3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0)
    while body[pos] != 0x3B:
        if body[pos] == 0x21:
            pos += 2
        else:
            yield pos
            flags = body[pos + 9]
            pos += 11 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
        while body[pos]:
            pos += body[pos] + 1
        pos += 1


def colour_tables(body: bytes) -> tuple[bool, int]:
    """(has a global colour table, number of local colour tables) of a GIF file."""
    local = sum(bool(body[pos + 9] & 0x80) for pos in image_descriptors(body))
    return bool(body[10] & 0x80), local


def image_boxes(body: bytes) -> list[tuple[int, ...]]:
    """(left, top, width, height) of each image of a GIF file."""
    return [struct.unpack_from("<4H", body, pos + 1) for pos in image_descriptors(body)]


def test_an_opaque_animation_shares_one_palette_across_frames(render):
    """One global colour table and no local ones, even for frames of different hues."""
    photo = astronaut().resize(0.25)
    tints = ([1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0])
    strip = animated([(photo * tint).cast("uchar") for tint in tints])
    out = render(strip.gifsave_buffer(), "width=100&format=gif", max_frames=10)
    frames, _ = frames_of(out.body)
    assert len(frames) == 3 and colour_tables(out.body) == (True, 0)
    for index, frame in enumerate(frames):
        means = frame[..., :3].reshape(-1, 3).mean(axis=0)
        assert means.argmax() == index, means


def test_frames_that_clear_pixels_stay_see_through(render):
    red = solid(8, 8, (*RED, 255))
    clear = solid(8, 8, (0, 0, 0, 0))
    strip = animated([red, clear, red])
    out = render(strip.gifsave_buffer(), "format=gif", max_frames=10)
    frames, _ = frames_of(out.body)
    assert len(frames) == 3
    assert frames[0][4, 4][3] == 255 and frames[1][4, 4][3] == 0 and frames[2][4, 4][3] == 255


def test_an_animation_see_through_in_every_frame_shares_one_palette_and_leaves_no_trail(render):
    """A clear window that moves: each frame is see-through exactly where its own window is."""
    photo = astronaut().resize(0.25)
    frames = [holed(photo, n) for n in range(3)]
    out = render(animated(frames).gifsave_buffer(), "format=gif", max_frames=10)
    decoded_frames, _ = frames_of(out.body)
    assert colour_tables(out.body) == (True, 0)
    for n, frame in enumerate(decoded_frames):
        expected = np.full(frame.shape[:2], 255)
        expected[20:44, 10 + 30 * n : 34 + 30 * n] = 0
        assert np.array_equal(frame[..., 3], expected), n
        shown = expected == 255
        error = frame[..., :3][shown].astype(int) - photo.numpy()[shown]
        assert np.abs(error.mean(axis=0)).max() < 2 and np.abs(error).mean() < 8


def holed(photo: pyvips.Image, n: int) -> pyvips.Image:
    """`photo` with a clear 24x24 window, moved 30 pixels right for each `n`."""
    return photo.bandjoin_const([255]).draw_rect([0, 0, 0, 0], 10 + 30 * n, 20, 24, 24, fill=True)


def pillow_frames(body: bytes) -> list[np.ndarray]:
    """Every frame of a GIF as Pillow composes it, RGBA: a decoder apart from libvips."""
    frames = []
    with Image.open(io.BytesIO(body)) as image:
        for index in range(image.n_frames):
            image.seek(index)
            frames.append(np.asarray(image.convert("RGBA")))
    return frames


def opaque_and_see_through() -> list[pyvips.Image]:
    """Opaque frames of different tints and frames with a clear window, in turn."""
    photo = astronaut().resize(0.25)
    opaque = [
        (photo * [1.0, 1.0 - 0.1 * n, 1.0]).cast("uchar").bandjoin_const([255]) for n in range(4)
    ]
    holes = [holed(photo, n) for n in range(3)]
    return [opaque[0], holes[0], opaque[1], opaque[2], holes[1], holes[2], opaque[3]]


def band_and_moving_square() -> list[pyvips.Image]:
    """A photograph under a clear band across the top, with a yellow square moving across it."""
    photo = astronaut().resize(0.25).bandjoin_const([255])
    banded = photo.draw_rect([0, 0, 0, 0], 0, 0, photo.width, 8, fill=True)
    return [
        banded.draw_rect([255, 255, 0, 255], 10 + 12 * n, 60, 10, 10, fill=True) for n in range(6)
    ]


def as_gif(render: Render, sequence: list[pyvips.Image]) -> bytes:
    # The original as lossless WebP: libvips writes some such sequences wrong as GIF.
    source = animated(sequence).webpsave_buffer(lossless=True)
    return render(source, "format=gif", max_frames=10).body


def assert_frames_match(frames: list[np.ndarray], sequence: list[pyvips.Image], label: str) -> None:
    """Each of the decoded RGBA `frames` is see-through exactly where its frame of `sequence` is,
    and close to it elsewhere."""
    assert len(frames) == len(sequence), label
    for index, (frame, source) in enumerate(zip(frames, sequence, strict=True)):
        expected = source.numpy()
        assert np.array_equal(frame[..., 3], expected[..., 3]), (label, index)
        shown = expected[..., 3] == 255
        error = frame[..., :3][shown].astype(int) - expected[..., :3][shown]
        assert np.abs(error).mean() < 8, (label, index)


def assert_decoded_right(body: bytes, sequence: list[pyvips.Image]) -> None:
    """The GIF `body` shows `sequence` in libvips' decoder and in Pillow's."""
    assert_frames_match(frames_of(body)[0], sequence, "libvips")
    assert_frames_match(pillow_frames(body), sequence, "Pillow")


def test_see_through_frames_between_opaque_ones_stay_see_through_only_in_their_windows(render):
    """No opaque frame shows through the window of the frame after it."""
    sequence = opaque_and_see_through()
    body = as_gif(render, sequence)
    assert colour_tables(body) == (True, 0)
    assert_decoded_right(body, sequence)


def test_frames_that_stay_under_the_next_leave_what_they_share_to_show_through(render):
    """Frames with the same see-through band need no clearing: each after the first carries only
    what it changes, and the six frames weigh less than two frames alone."""
    sequence = band_and_moving_square()
    body = as_gif(render, sequence)
    assert_decoded_right(body, sequence)
    one_frame = render(sequence[0].webpsave_buffer(lossless=True), "format=gif").body
    assert len(body) < 2 * len(one_frame), (len(body), len(one_frame))


# Each frame of a GIF as Chromium composes it for the page, through WebCodecs' ImageDecoder
# (which needs a secure context: the page is served as http://localhost).
CHROMIUM_FRAMES = """async (bytes) => {
    const decoder = new ImageDecoder({data: new Uint8Array(bytes), type: "image/gif"});
    await decoder.tracks.ready;
    const frames = [];
    for (let index = 0; index < decoder.tracks.selectedTrack.frameCount; index++) {
        const {image} = await decoder.decode({frameIndex: index});
        const canvas = new OffscreenCanvas(image.displayWidth, image.displayHeight);
        const context = canvas.getContext("2d");
        context.drawImage(image, 0, 0);
        image.close();
        frames.push(Array.from(context.getImageData(0, 0, canvas.width, canvas.height).data));
    }
    return frames;
}"""


def test_frames_cleared_or_kept_show_right_in_chromium(render, tmp_path):
    sequences = {"cleared": opaque_and_see_through(), "kept": band_and_moving_square()}
    with chromium(tmp_path) as browser:
        page = browser.new_page()
        page.route(
            "http://localhost/", lambda route: route.fulfill(body="", content_type="text/html")
        )
        page.goto("http://localhost/")
        for name, sequence in sequences.items():
            shown = page.evaluate(CHROMIUM_FRAMES, list(as_gif(render, sequence)))
            shape = (sequence[0].height, sequence[0].width, 4)
            frames = [np.array(frame, dtype=np.uint8).reshape(shape) for frame in shown]
            assert_frames_match(frames, sequence, f"Chromium, {name}")


def test_an_animation_with_see_through_pixels_keeps_its_delays_and_loop_count(render):
    strip = animated(opaque_and_see_through())
    delays = [100, 200, 300, 150, 60, 70, 80]
    strip.set_type(pyvips.GValue.array_int_type, "delay", delays)
    strip.set_type(pyvips.GValue.gint_type, "loop", 3)
    out = render(strip.webpsave_buffer(lossless=True), "format=gif", max_frames=10)
    assert frames_of(out.body)[1] == delays
    assert pyvips.Image.new_from_buffer(out.body, "", n=-1).get("loop") == 3


def test_a_window_opening_for_one_frame_clears_only_itself(render):
    """The frame before a window opens is cleared only around what changes and the window, and
    the frame in which it opens redraws no more: no frame after the first is drawn whole."""
    sequence = band_and_moving_square()
    sequence[3] = sequence[3].draw_rect([0, 0, 0, 0], 90, 90, 12, 12, fill=True)
    body = as_gif(render, sequence)
    assert_decoded_right(body, sequence)
    whole = sequence[0].width * sequence[0].height
    assert all(width * height < whole / 4 for _, _, width, height in image_boxes(body)[1:])


def test_a_figure_moving_over_clear_frames_is_drawn_in_its_own_box(render):
    """Every frame is cleared, and each after the first is cut to the square it shows."""
    clear = solid(128, 96, (0, 0, 0, 0))
    sequence = [clear.draw_rect([*RED, 255], 10 + 20 * n, 40, 12, 12, fill=True) for n in range(5)]
    body = as_gif(render, sequence)
    assert_decoded_right(body, sequence)
    boxes = image_boxes(body)
    assert boxes == [(0, 0, 128, 96), *((10 + 20 * n, 40, 12, 12) for n in range(1, 5))]


@pytest.mark.parametrize("alpha", [255, 0], ids=["opaque", "see-through"])
def test_a_delay_longer_than_a_gif_holds_is_its_longest(render, alpha):
    """WebP delays reach 4.6 hours, a GIF's 655.35 s."""
    frames = [
        solid(8, 8, (*colour, alpha)).draw_rect([*colour, 255], 2, 2, 4, 4) for colour in COLOURS
    ]
    strip = animated(frames)
    strip.set_type(pyvips.GValue.array_int_type, "delay", [100, 700_000, 100, 700_000])
    out = render(strip.webpsave_buffer(lossless=True), "format=gif", max_frames=10)
    assert frames_of(out.body)[1] == [100, 655_350, 100, 655_350]


def test_a_line_of_opaque_pixels_on_clear_frames_keeps_every_pixel(render):
    """A red line, one row high, moving down over clear frames: every frame is cleared, and each
    pixel of the line is still drawn (a cut around a frame's opaque pixels that missed their
    last row would keep one)."""

    def frame(row: int) -> pyvips.Image:
        return solid(40, 20, (0, 0, 0, 0)).draw_rect([*RED, 255], 5, row, 30, 1, fill=True)

    sequence = [frame(5), frame(10)]
    assert_decoded_right(as_gif(render, sequence), sequence)


def test_pixels_that_do_not_change_do_not_flicker(render):
    """Dithering noise stays put: away from a square moving over a still photograph, every frame
    shows the very pixels of the frame before it."""
    photo = astronaut().resize(0.25)
    frames = [photo.draw_rect([255, 255, 0], 10 + 12 * n, 60, 10, 10, fill=True) for n in range(4)]
    source = animated(frames).webpsave_buffer(lossless=True)
    decoded_frames, _ = frames_of(render(source, "format=gif", max_frames=10).body)
    still = np.ones(decoded_frames[0].shape[:2], dtype=bool)
    still[60:70, 10:56] = False
    for before, after in itertools.pairwise(decoded_frames):
        assert np.array_equal(before[still], after[still])


@pytest.mark.parametrize("corner", [(0, 0), (1, 1)], ids=["even", "odd"])
def test_a_two_pixel_detail_keeps_its_colour_in_the_shared_palette(render, corner):
    """The palette is counted over every other pixel of every other row: a 2x2 dot of a colour
    found nowhere else in the animation is still sampled, wherever it sits."""
    photo = astronaut().resize(0.25)
    left, top = 61 + corner[0], 41 + corner[1]
    dotted = photo.draw_rect([0, 255, 0], left, top, 2, 2, fill=True)
    strip = animated([photo, dotted, photo])
    out = render(strip.gifsave_buffer(), "format=gif", max_frames=10)
    frames, _ = frames_of(out.body)
    assert colour_tables(out.body) == (True, 0)
    red, green, blue = frames[1][top, left, :3].astype(int)
    assert green > 200 and red < 60 and blue < 60, (red, green, blue)


def frame_by_frame(strip: pyvips.Image, count: int, width: int, height: int) -> np.ndarray:
    frame_height = strip.height // count
    frames = [strip.crop(0, i * frame_height, strip.width, frame_height) for i in range(count)]
    return pyvips.Image.arrayjoin([resample(f, width, height) for f in frames], across=1).numpy()


@pytest.mark.parametrize("bands", [3, 4], ids=["opaque", "alpha"])
@pytest.mark.parametrize("size", [(40, 27), (45, 61), (90, 20), (13, 7), (1, 1)])
def test_frames_shrunk_together_match_frames_shrunk_one_by_one(size, bands):
    frame = noise(90, 61, bands)
    strip = animated([frame, frame.flipver(), frame.fliphor()])
    together = resample_frames(strip, 3, *size)
    assert (together.width, together.height) == (size[0], size[1] * 3)
    assert np.array_equal(together.numpy(), frame_by_frame(strip, 3, *size))


@pytest.mark.parametrize(
    ("bands", "size"),
    [(3, (120, 61)), (4, (90, 80)), (4, (90, 61))],
    ids=["wider", "taller", "same"],
)
def test_enlarged_frames_and_frames_of_the_same_size_come_back_as_they_are(bands, size):
    strip = animated([solid(90, 61, (*RED, 255)[:bands]), solid(90, 61, (*BLUE, 255)[:bands])])
    assert resample_frames(strip, 2, *size) is strip


def test_no_frame_bleeds_into_the_next_when_shrunk(render):
    black, white = solid(90, 61, (0, 0, 0)), solid(90, 61, (255, 255, 255))
    strip = animated([black, white, black, white])
    out = render(strip.gifsave_buffer(), "width=40&format=gif", max_frames=10)
    frames, _ = frames_of(out.body)
    assert len(frames) == 4 and frames[0].shape[:2] == (27, 40)
    for frame, level in zip(frames, (0, 255, 0, 255), strict=True):
        assert np.abs(frame[..., :3].astype(int) - level).max() <= 2


@pytest.mark.parametrize("size", [(40, 27), (13, 7)])
def test_opaque_alpha_resized_as_a_band_gives_the_colours_resized_alone(size):
    frame = noise(90, 61, 3)
    strip = animated([frame, frame.flipver(), frame.fliphor()])
    with_alpha = strip.bandjoin_const([255]).copy(interpretation="srgb")
    with_alpha.set_type(pyvips.GValue.gint_type, "page-height", 61)
    together = resample_frames(with_alpha, 3, *size, weighted=False).numpy()
    assert np.array_equal(together[..., :3], frame_by_frame(strip, 3, *size))
    assert (together[..., 3] == 255).all()


@pytest.mark.parametrize("bands", [2, 4])
@pytest.mark.parametrize("least", [0, 127, 254, 255])
def test_the_least_alpha_is_found_wherever_it_is(bands, least):
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (30, 40, bands), dtype=np.uint8)
    pixels[..., -1] = 255
    pixels[17, 23, -1] = least
    # A colour of 0 beside a higher alpha must not pass for a lower alpha.
    pixels[3, 4] = 0
    pixels[3, 4, -1] = 255
    interpretation = "srgb" if bands == 4 else "b-w"
    image = pyvips.Image.new_from_array(pixels).copy(interpretation=interpretation)
    assert least_alpha(image) == least
    assert least_alpha(image.cast("ushort")) == least
    assert solid_alpha(image) == (least == 255)


def test_an_image_without_alpha_has_no_solid_alpha():
    assert not solid_alpha(solid(4, 4, (*RED,)))


@pytest.mark.parametrize("fmt, data, bands", [("gif", GIF, 3), ("webp", WEBP, 4)])
def test_a_decoded_strip_reads_in_any_order(fmt, data, bands):
    """The loader's mark of a top-to-bottom read is dropped once the frames are in memory, and
    the strip keeps the loader's fields, whichever decoder read it; imgproxy's GIF decoder
    leaves out alpha that is opaque everywhere."""
    loaded = pyvips.Image.new_from_buffer(data, "", n=-1, access="sequential")
    assert loaded.get_typeof("vips-sequential")
    strip, opaque = decoded(loaded, data, fmt)
    assert not strip.get_typeof("vips-sequential")
    assert opaque
    assert (strip.width, strip.height, strip.bands) == (80, 240, bands)
    assert strip.get("page-height") == 60
    assert list(strip.get("delay")) == list(loaded.get("delay"))
    assert np.array_equal(strip.numpy(), loaded.numpy()[..., :bands])
