"""One palette for an animation's frames: its own colours when few, a photograph's kept close;
frames mapped to it: the nearest entry, error diffusion, only what changed mapped again,
see-through pixels; and a photograph's fidelity through the whole GIF encoder."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

from imgproxy.pipeline._palette import choose_palette, map_frames
from imgproxy.pipeline.gif import animated_gif
from tests.support.images import animated, astronaut

RNG_SEED = 8


def rgba_palette(colours: np.ndarray, alpha: int = 255) -> np.ndarray:
    """Entries of `colours` (n x 3) as RGBA."""
    return np.concatenate([colours, np.full((len(colours), 1), alpha, np.uint8)], axis=1)


def mapped(frames: np.ndarray, palette: np.ndarray, **options: int) -> np.ndarray:
    """`frames` (count x height x width x 3 or 4) as indices (count x height x width)."""
    count, height, width, _ = frames.shape
    indices = map_frames(frames.tobytes(), width, height, count, palette.tobytes(), **options)
    return np.frombuffer(indices, np.uint8).reshape(count, height, width)


def opaque(rgb: np.ndarray) -> np.ndarray:
    return np.concatenate([rgb, np.full((*rgb.shape[:-1], 1), 255, np.uint8)], axis=-1)


def gradient(width: int, height: int) -> np.ndarray:
    """An RGBA frame whose red grows to the right and green downwards."""
    x = np.linspace(0, 255, width)[None, :]
    y = np.linspace(0, 255, height)[:, None]
    rgb = np.stack([x + 0 * y, y + 0 * x, np.full((height, width), 128.0)], axis=-1)
    return opaque(rgb.astype(np.uint8))


def chosen(frames: np.ndarray, colours: int, step: int = 1, opaque_from: int = 0) -> np.ndarray:
    """The RGB entries `choose_palette` gives for `frames` (count x height x width x 3 or 4)."""
    count, height, width, _ = frames.shape
    entries = choose_palette(frames.tobytes(), width, height, count, step, colours, opaque_from)
    return np.frombuffer(entries, np.uint8).reshape(-1, 3)


def nearest_psnr(rgb: np.ndarray, entries: np.ndarray) -> float:
    """PSNR of `rgb` shown with the entry nearest to each pixel."""
    distances = ((rgb.reshape(-1, 1, 3).astype(int) - entries[None].astype(int)) ** 2).sum(-1)
    return float(10 * np.log10(255**2 / (distances.min(axis=1).mean() / 3)))


def test_an_animation_of_few_colours_keeps_exactly_those():
    colours = np.array([[200, 30, 30], [20, 200, 20], [10, 10, 220], [201, 30, 30]], np.uint8)
    rng = np.random.default_rng(RNG_SEED)
    frames = opaque(colours[rng.integers(0, 4, (3, 20, 30))])
    entries = chosen(frames, 256)
    assert sorted(map(tuple, entries)) == sorted(map(tuple, colours))


@pytest.mark.parametrize(("colours", "least_psnr"), [(256, 37.0), (16, 26.0)])
def test_a_photograph_gets_entries_close_to_its_colours(colours, least_psnr):
    rgb = astronaut().resize(0.25).numpy()
    entries = chosen(opaque(rgb[None]), colours)
    assert len(entries) == colours
    assert nearest_psnr(rgb, entries) > least_psnr


def test_two_clusters_give_their_means():
    rng = np.random.default_rng(RNG_SEED)
    reds = np.clip(rng.normal((200, 40, 40), 6, (500, 3)), 0, 255)
    blues = np.clip(rng.normal((30, 60, 210), 6, (500, 3)), 0, 255)
    frames = opaque(np.concatenate([reds, blues]).astype(np.uint8).reshape(1, 20, 50, 3))
    entries = sorted(map(tuple, chosen(frames, 2).astype(int)))
    assert np.abs(np.subtract(entries[0], (30, 60, 210))).max() <= 2
    assert np.abs(np.subtract(entries[1], (200, 40, 40))).max() <= 2


def test_see_through_pixels_are_not_counted():
    frame = opaque(np.zeros((1, 10, 10, 3), np.uint8))
    frame[0, :, :5, :3] = (200, 0, 0)
    frame[0, :, 5:] = (0, 200, 0, 100)
    assert [tuple(entry) for entry in chosen(frame, 255, opaque_from=128)] == [(200, 0, 0)]


def test_each_pixel_takes_the_nearest_entry():
    rng = np.random.default_rng(RNG_SEED)
    colours = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    # One-pixel frames: no neighbour to pass an error to, so each index is the plain nearest.
    pixels = rng.integers(0, 256, (3000, 1, 1, 3), dtype=np.uint8)
    indices = mapped(opaque(pixels), rgba_palette(colours)).reshape(-1)
    distances = ((pixels.reshape(-1, 1, 3).astype(int) - colours[None].astype(int)) ** 2).sum(-1)
    chosen = distances[np.arange(len(indices)), indices]
    assert (chosen == distances.min(axis=1)).all()


def follow_diffusion(rgb: np.ndarray, colours: np.ndarray, indices: np.ndarray) -> None:
    """Walks `rgb` (height x width x 3) in reading order as Sierra's light diffusion does, each
    share truncated towards zero and clipped as it is added, and checks that every index in
    `indices` is an entry nearest to the pixel's colour with the errors that reached it."""
    height, width, _ = rgb.shape
    colour = rgb.astype(int)
    palette = colours.astype(int)

    def add(y: int, x: int, error: np.ndarray, part: int) -> None:
        if 0 <= y < height and 0 <= x < width:
            colour[y, x] = np.clip(colour[y, x] + np.trunc(error / part).astype(int), 0, 255)

    for y in range(height):
        for x in range(width):
            distances = ((palette - colour[y, x]) ** 2).sum(axis=1)
            index = indices[y, x]
            assert distances[index] == distances.min(), (y, x)
            error = colour[y, x] - palette[index]
            add(y, x + 1, error, 2)
            add(y + 1, x - 1, error, 4)
            add(y + 1, x, error, 4)


@pytest.mark.parametrize("entries", [6, 256])
@pytest.mark.parametrize(("width", "height"), [(29, 7), (3, 6), (1, 5), (2, 1), (17, 2)])
def test_each_pixel_takes_the_nearest_entry_to_its_colour_with_the_errors_passed_on(
    entries, width, height
):
    # Rows are mapped two at a time: every share reaches each pixel as it would row by row.
    rng = np.random.default_rng(width * height + entries)
    colours = rng.integers(0, 256, (entries, 3), dtype=np.uint8)
    frames = rng.integers(0, 256, (3, height, width, 3), dtype=np.uint8)
    indices = mapped(frames, rgba_palette(colours))
    # Random frames differ from each other everywhere, so each is mapped whole.
    for frame, frame_indices in zip(frames, indices, strict=True):
        follow_diffusion(frame, colours, frame_indices)


def test_colours_of_the_palette_keep_their_entries():
    rng = np.random.default_rng(RNG_SEED)
    colours = np.unique(rng.integers(0, 256, (256, 3), dtype=np.uint8), axis=0)
    picks = rng.integers(0, len(colours), (2, 40, 50))
    indices = mapped(opaque(colours[picks]), rgba_palette(colours))
    assert (indices == picks).all()


def test_error_diffusion_keeps_the_average_colour():
    palette = rgba_palette(np.array([[0, 0, 0], [255, 255, 255]], np.uint8))
    grey = opaque(np.full((1, 64, 64, 3), 100, np.uint8))
    indices = mapped(grey, palette)
    shown = np.where(indices == 1, 255, 0)
    assert abs(shown.mean() - 100) < 2
    assert 0.3 < (indices == 1).mean() < 0.5


def test_errors_too_small_to_share_leave_a_flat_area_flat():
    palette = rgba_palette(np.array([[100, 100, 100], [96, 96, 96], [104, 104, 104]], np.uint8))
    flat = opaque(np.full((1, 32, 32, 3), 101, np.uint8))
    assert (mapped(flat, palette) == 0).all()


def test_only_the_rectangle_that_changed_is_mapped_again():
    rng = np.random.default_rng(RNG_SEED)
    palette = rgba_palette(rng.integers(0, 256, (16, 3), dtype=np.uint8))
    first = gradient(60, 40)
    second = first.copy()
    second[5:10, 5:10, :3] = 255 - second[5:10, 5:10, :3]
    both = mapped(np.stack([first, second]), palette)
    alone = mapped(second[None], palette)[0]
    outside = np.ones((40, 60), bool)
    outside[5:10, 5:10] = False
    # Mapped whole, the second frame's changed pixels move their neighbours' indices too.
    assert (alone[outside] != both[0][outside]).any()
    assert (both[1][outside] == both[0][outside]).all()
    # The rectangle is mapped as a frame of its own: no error comes into it from outside.
    assert (both[1][5:10, 5:10] == mapped(second[None, 5:10, 5:10].copy(), palette)[0]).all()


def test_a_frame_like_the_one_before_keeps_its_indices():
    rng = np.random.default_rng(RNG_SEED)
    palette = rgba_palette(rng.integers(0, 256, (32, 3), dtype=np.uint8))
    frame = gradient(30, 20)
    indices = mapped(np.stack([frame, frame, frame]), palette)
    assert (indices[1] == indices[0]).all() and (indices[2] == indices[0]).all()


def test_see_through_pixels_take_the_see_through_entry_and_opaque_ones_never_do():
    colours = np.array([[0, 0, 0], [200, 0, 0], [0, 200, 0]], np.uint8)
    palette = rgba_palette(colours)
    palette[0, 3] = 0
    frame = opaque(np.zeros((1, 10, 10, 3), np.uint8))
    frame[0, :, :5, 3] = 127
    indices = mapped(frame, palette, see_through=0, see_through_below=128)
    assert (indices[0, :, :5] == 0).all()
    assert (indices[0, :, 5:] != 0).all()


def test_without_a_see_through_entry_alpha_is_ignored():
    palette = rgba_palette(np.array([[0, 0, 0], [255, 255, 255]], np.uint8))
    frame = np.zeros((1, 4, 4, 4), np.uint8)
    frame[..., :3] = 255
    assert (mapped(frame, palette) == 1).all()


def test_rgb_frames_give_what_the_same_frames_with_solid_alpha_give():
    photo = astronaut().resize(0.25).numpy()
    frames = np.stack([photo[:48, :64], photo[8:56, :64], photo[8:56, 4:68]])
    with_alpha = opaque(frames)
    assert np.array_equal(chosen(frames, 64, step=2), chosen(with_alpha, 64, step=2))
    palette = rgba_palette(chosen(frames, 64))
    assert np.array_equal(mapped(frames, palette), mapped(with_alpha, palette))


def test_a_see_through_entry_needs_alpha():
    palette = rgba_palette(np.array([[0, 0, 0], [255, 255, 255]], np.uint8))
    palette[0, 3] = 0
    with pytest.raises(ValueError, match="needs RGBA pixels"):
        mapped(np.zeros((1, 4, 4, 3), np.uint8), palette, see_through=0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"count": 3}, "pixels must hold"),
        ({"pixels": b"\xff" * 5 * 2 * 2 * 4}, "pixels must hold"),
        ({"width": 0}, "pixels must hold"),
        ({"palette": b"\x00" * 6}, "palette must hold"),
        ({"palette": b"\x00" * 4 * 257}, "palette must hold"),
        ({"see_through": 2}, "see_through must be"),
        ({"palette": b"\x00\x00\x00\x00" * 2}, "opaque pixels need an opaque palette entry"),
    ],
)
def test_inputs_that_do_not_fit_are_refused_by_the_mapping(change, message):
    arguments = {
        "pixels": b"\xff" * 4 * 2 * 2 * 4,
        "width": 4,
        "height": 2,
        "count": 2,
        "palette": bytes([0, 0, 0, 255, 255, 255, 255, 255]),
        **change,
    }
    with pytest.raises(ValueError, match=message):
        map_frames(**arguments)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"height": 3}, "pixels must hold"),
        ({"step": 0}, "step must be"),
        ({"colours": 0}, "colours 1-256"),
        ({"colours": 257}, "colours 1-256"),
    ],
)
def test_inputs_that_do_not_fit_are_refused_by_the_choice(change, message):
    arguments = {
        "pixels": b"\xff" * 4 * 2 * 2,
        "width": 2,
        "height": 2,
        "count": 1,
        "step": 1,
        "colours": 256,
        "opaque_from": 0,
        **change,
    }
    with pytest.raises(ValueError, match=message):
        choose_palette(**arguments)


def psnr(expected: np.ndarray, actual: np.ndarray) -> float:
    error = ((expected.astype(float) - actual.astype(float)) ** 2).mean()
    return float(10 * np.log10(255**2 / error))


def test_a_photograph_panning_keeps_its_fidelity_as_a_gif():
    photo = astronaut().resize(0.25)
    frames = [photo.crop(4 * step, 0, 96, 96) for step in range(6)]
    strip = animated(frames)
    body = animated_gif(strip, len(frames))
    decoded = pyvips.Image.new_from_buffer(body, "", n=-1)
    assert decoded.get("n-pages") == len(frames)
    shown = decoded.numpy()[..., :3]
    assert psnr(strip.numpy()[..., :3], shown) > 33
