"""GIF's LZW packing of palette indices: what libvips and Pillow decode is what was packed, at
every code size, across the code widths and the clear codes of a long image; the pixels that
equal the canvas are packed as the see-through entry; and the GIF files written around it keep
their colour tables as small as the palette allows."""

from __future__ import annotations

import io

import numpy as np
import pytest
import pyvips
from PIL import Image

from imgproxy.pipeline._gifpack import pack, unused_entry
from imgproxy.pipeline.gif import animated_gif
from imgproxy.pipeline.gifwrite import table_bits
from tests.support.images import animated, solid

RNG_SEED = 11


def one_image_gif(indices: np.ndarray, bits: int, packed: bytes) -> bytes:
    """A GIF of one image, `packed` from `indices`, with a table of 2 ** `bits` entries whose
    red is the entry's own index."""
    height, width = indices.shape
    table = np.zeros((1 << bits, 3), np.uint8)
    table[:, 0] = np.arange(1 << bits)
    size = width.to_bytes(2, "little") + height.to_bytes(2, "little")
    screen = b"GIF89a" + size + bytes([0x80 | (bits - 1), 0, 0]) + table.tobytes()
    return screen + b"\x2c" + bytes(4) + size + b"\0" + packed + b"\x3b"


def decoded(gif: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The indices Pillow decodes, and the reds libvips decodes."""
    with Image.open(io.BytesIO(gif)) as image:
        image.load()
        indices = np.asarray(image)
    return indices, pyvips.Image.new_from_buffer(gif, "").numpy()[..., 0]


def assert_round_trip(indices: np.ndarray, bits: int) -> None:
    packed = pack(indices.tobytes(), max(2, bits))
    assert pack(indices.tobytes(), max(2, bits), canvas=None) == packed
    by_pillow, by_libvips = decoded(one_image_gif(indices, bits, packed))
    assert np.array_equal(by_pillow, indices)
    assert np.array_equal(by_libvips, indices)


@pytest.mark.parametrize("bits", range(1, 9))
@pytest.mark.parametrize("kind", ["noise", "runs", "flat", "ramp"])
def test_what_is_packed_decodes_as_it_was(bits, kind):
    rng = np.random.default_rng(RNG_SEED)
    count = 131 * 97
    values = {
        "noise": rng.integers(0, 1 << bits, count),
        "runs": np.repeat(rng.integers(0, 1 << bits, count // 7 + 1), 7)[:count],
        "flat": np.full(count, (1 << bits) - 1),
        "ramp": np.arange(count) % (1 << bits),
    }[kind]
    assert_round_trip(values.astype(np.uint8).reshape(97, 131), bits)


@pytest.mark.parametrize("length", [1, 2, 3, 253, 254, 255, 256, 766, 1790, 3837, 3838, 3839])
def test_an_image_may_end_on_either_side_of_a_wider_code_or_a_new_table(length):
    """A new string at every pixel: the codes widen at 512, 1,024 and 2,048 strings and start
    over at 4,095."""
    indices = (np.arange(length) * 7919 % 256).astype(np.uint8).reshape(1, length)
    assert_round_trip(indices, 8)


def test_a_long_image_starts_its_table_over_many_times():
    rng = np.random.default_rng(RNG_SEED)
    assert_round_trip(rng.integers(0, 256, (600, 700), dtype=np.uint8), 8)


def test_pixels_equal_to_the_canvas_are_packed_as_the_see_through_entry():
    rng = np.random.default_rng(RNG_SEED)
    indices = rng.integers(0, 3, (20, 30), dtype=np.uint8)
    canvas = rng.integers(0, 3, (20, 30), dtype=np.uint8)
    packed = pack(indices.tobytes(), 2, canvas.tobytes(), 3)
    by_pillow, _ = decoded(one_image_gif(indices, 2, packed))
    same = indices == canvas
    assert same.any() and (~same).any()
    assert (by_pillow[same] == 3).all()
    assert np.array_equal(by_pillow[~same], indices[~same])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((b"\x00", 1), "min_size must be 2-8"),
        ((b"\x00", 9), "min_size must be 2-8"),
        ((b"", 8), "at least one pixel"),
        ((b"\x04", 2), "does not fit"),
        ((b"\x00\x01", 2, b"\x00"), "as many pixels"),
        ((b"\x00\x01", 2, b"\x00\x00"), "needs a see_through index"),
        ((b"\x00\x01", 2, b"\x00\x00", 4), "needs a see_through index"),
    ],
)
def test_inputs_that_do_not_fit_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        pack(*arguments)


def test_the_unused_entry_is_the_first_no_pixel_takes():
    assert unused_entry(bytes([0, 1, 3, 1]), 8) == 2
    assert unused_entry(bytes([0, 1, 2, 3]), 4) is None
    assert unused_entry(bytes(range(256)), 256) is None
    assert unused_entry(bytes([5]), 3) == 0


@pytest.mark.parametrize(("colours", "bits"), [(1, 1), (2, 2), (3, 2), (4, 3), (255, 8), (256, 8)])
def test_the_colour_table_has_room_for_one_more_entry_where_256_allow(colours, bits):
    assert table_bits(colours) == bits


def screen_table_entries(gif: bytes) -> int:
    return 2 ** ((gif[10] & 7) + 1)


@pytest.mark.parametrize("see_through", [False, True])
def test_an_animation_of_three_colours_has_a_table_of_four_and_its_see_through_entry_last(
    see_through,
):
    red, green, blue = (220, 20, 20, 255), (20, 220, 20, 255), (20, 20, 220, 255)
    clear = (0, 0, 0, 0)
    last = clear if see_through else blue
    frames = [solid(16, 12, red), solid(16, 12, green), solid(16, 12, last)]
    frames[2] = frames[2].draw_rect(list(blue), 0, 0, 8, 12, fill=True)
    gif = animated_gif(animated(frames), 3, see_through=see_through)
    assert screen_table_entries(gif) == 4
    # A decoder that clears a frame to the background entry shows the see-through one.
    assert gif[11] == (3 if see_through else 0)
    shown = pyvips.Image.new_from_buffer(gif, "", n=-1).numpy().reshape(3, 12, 16, 4)
    assert (shown[0] == red).all() and (shown[1] == green).all()
    assert (shown[2][:, :8] == blue).all() and (shown[2][:, 8:] == last).all()
