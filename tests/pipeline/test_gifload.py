"""imgproxy's GIF decoder: every file it decodes comes out as libvips' loader composes it, pixel
for pixel, with whether every pixel is opaque; files outside what it reads, damaged ones among
them, are left to libvips; an animation, its first frame alone and a still GIF render to the
same bytes whichever decoder read them."""

from __future__ import annotations

import io

import numpy as np
import pytest
import pyvips
from PIL import Image

from imgproxy.pipeline import gifload
from tests.conftest import Render
from tests.support.gifs import (
    Frame,
    damaged,
    gif,
    random_gif,
    random_table,
)
from tests.support.images import astronaut

RNG_SEED = 5
RANDOM_FILES = 300


def libvips_pixels(data: bytes) -> np.ndarray | None:
    """The frames libvips decodes, one under the other; None if it fails on the pixels."""
    try:
        return pyvips.Image.new_from_buffer(data, "", n=-1).numpy()
    except pyvips.Error:
        return None


def decoded_as_libvips(data: bytes) -> bool:
    """Whether imgproxy's decoder read `data`; where it did, its pixels are libvips', with alpha
    where libvips gives alpha, unless asked for colour alone where every pixel is opaque."""
    lazy = pyvips.Image.new_from_buffer(data, "", n=-1)
    expected = libvips_pixels(data)
    read = [gifload.decoded(data, lazy, colour_if_opaque=wanted) for wanted in (False, True)]
    if expected is None or read[0] is None:
        assert read == [None, None], "decoded a file libvips fails on"
        return False
    solid = lazy.bands == 3 or bool((expected[..., 3] == 255).all())
    for (image, opaque), colour_if_opaque in zip(read, (False, True), strict=True):
        assert (image.width, image.height) == (lazy.width, lazy.height)
        assert page_height(image) == page_height(lazy)
        assert image.bands == (3 if lazy.bands == 3 or (colour_if_opaque and solid) else 4)
        assert np.array_equal(image.numpy(), expected[..., : image.bands])
        assert opaque == solid
    return True


def page_height(image: pyvips.Image) -> int:
    return image.get("page-height") if image.get_typeof("page-height") else image.height


def test_random_gifs_come_out_as_libvips_composes_them():
    """Every disposal, see-through indices used or not, local tables shorter or longer than the
    global one, interlaced frames, partial frames, code sizes 2-8, clear codes anywhere."""
    rng = np.random.default_rng(RNG_SEED)
    read = sum(decoded_as_libvips(random_gif(rng)) for _ in range(RANDOM_FILES))
    assert read >= RANDOM_FILES * 0.95


def test_damaged_gifs_come_out_as_libvips_decodes_them_or_are_left_to_it():
    rng = np.random.default_rng(RNG_SEED)
    read = 0
    for _ in range(RANDOM_FILES):
        data = damaged(rng, random_gif(rng))
        try:
            pyvips.Image.new_from_buffer(data, "", n=-1)
        except pyvips.Error:
            continue
        read += decoded_as_libvips(data)
    assert read > 0


@pytest.mark.parametrize("min_size", [2, 5, 8])
@pytest.mark.parametrize("clear_first", [True, False])
def test_a_full_table_goes_on_without_a_clear_code(min_size, clear_first):
    """Each frame's 34,500 indices of noise fill the table of 4,096 strings several times over;
    a clear code starts it only where the encoder writes one first."""
    rng = np.random.default_rng(RNG_SEED)
    noise = rng.integers(0, 1 << min_size, (150, 230), dtype=np.uint8)
    frames = [
        Frame(noise, min_size=min_size, clear_first=clear_first),
        Frame(noise[::-1], min_size=min_size, clear_first=clear_first, see_through=0),
    ]
    assert decoded_as_libvips(gif(230, 150, frames, random_table(rng, 8)))


def photograph_frames(count: int, alpha: bool) -> list[Image.Image]:
    """Crops of the astronaut moving across her photograph; with some rows see-through if
    `alpha`, else without alpha (GIFs without a see-through entry)."""
    photo = astronaut().numpy()
    frames = []
    for index in range(count):
        crop = photo[40:200, 30 * index : 30 * index + 220]
        if alpha:
            crop = np.dstack([crop, np.full((160, 220), 255, np.uint8)])
            crop[10 * index : 10 * index + 6, :, 3] = 0
        frames.append(Image.fromarray(crop))
    return frames


@pytest.mark.parametrize("alpha", [False, True])
@pytest.mark.parametrize("disposal", [0, 1, 2, 3])
@pytest.mark.parametrize("interlace", [False, True])
def test_pillows_animations_come_out_as_libvips_composes_them(alpha, disposal, interlace):
    frames = photograph_frames(5, alpha)
    out = io.BytesIO()
    frames[0].save(
        out,
        "GIF",
        save_all=True,
        append_images=frames[1:],
        disposal=disposal,
        interlace=interlace,
        duration=40,
        loop=0,
    )
    assert decoded_as_libvips(out.getvalue())


@pytest.mark.parametrize("effort", [1, 7])
def test_libvips_animations_come_out_as_libvips_composes_them(effort):
    frames = [np.asarray(frame) for frame in photograph_frames(5, alpha=True)]
    strip = pyvips.Image.new_from_array(np.concatenate(frames)).copy(interpretation="srgb")
    strip.set_type(pyvips.GValue.gint_type, "page-height", frames[0].shape[0])
    assert decoded_as_libvips(strip.gifsave_buffer(effort=effort, interframe_maxerror=8))


def one_frame(width: int, height: int, frame: Frame) -> bytes:
    return gif(width, height, [frame, frame], random_table(np.random.default_rng(RNG_SEED), 8))


SQUARE = np.arange(100, dtype=np.uint8).reshape(10, 10)
LEFT_TO_LIBVIPS = {
    # libvips takes a screen of some common display sizes for the size of the first frame.
    "screen of a display's size": one_frame(640, 480, Frame(SQUARE)),
    "frame past the canvas": one_frame(20, 20, Frame(SQUARE, x=15)),
    "codes that end before the frame": one_frame(10, 20, Frame(SQUARE)).replace(
        b"\x2c\0\0\0\0\x0a\0\x0a\0", b"\x2c\0\0\0\0\x0a\0\x14\0"
    ),
    "cut short": one_frame(30, 30, Frame(np.tile(SQUARE, (3, 3))))[:-40],
}


@pytest.mark.parametrize("name", LEFT_TO_LIBVIPS)
def test_files_outside_what_it_reads_are_left_to_libvips(name, render: Render):
    data = LEFT_TO_LIBVIPS[name]
    assert gifload.decoded(data, pyvips.Image.new_from_buffer(data, "", n=-1), True) is None
    rendered = render(data, "width=8&format=png", max_frames=10)
    assert rendered.format == "png" and rendered.width == 8


def pillow_gif(frames: list[Image.Image]) -> bytes:
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=40, loop=0)
    return out.getvalue()


@pytest.mark.parametrize("alpha", [False, True])
@pytest.mark.parametrize(
    "count, query, max_frames",
    [(6, "width=100", 10), (6, "width=100&format=png", 1), (1, "width=100&format=png", 10)],
    ids=["animation", "first frame", "still"],
)
def test_a_gif_renders_the_same_whichever_decoder_reads_it(
    alpha, count, query, max_frames, render, monkeypatch
):
    data = pillow_gif(photograph_frames(count, alpha))
    read: list[bool] = []

    def counted(*args: object) -> object:
        found = gifload_decode(*args)
        read.append(found is not None)
        return found

    gifload_decode = gifload.decode
    monkeypatch.setattr(gifload, "decode", counted)
    ours = render(data, query, max_frames=max_frames)
    assert read == [True]
    monkeypatch.setattr(gifload, "decode", lambda *args: None)
    theirs = render(data, query, max_frames=max_frames)
    assert ours.body == theirs.body
    assert (ours.width, ours.height) == (100, 73)
    assert ours.format == (query.partition("format=")[2] or "gif")
    if ours.format == "png":
        assert pyvips.Image.new_from_buffer(ours.body, "").bands == 3 + alpha
