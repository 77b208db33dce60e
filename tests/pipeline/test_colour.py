"""The colour helpers every colour step ends with."""

from __future__ import annotations

import numpy as np
import pyvips

from imgproxy.pipeline.colour import to_uchar


def test_an_8_bit_image_comes_back_as_it_was_marked_srgb():
    pixels = np.array([[[0, 128, 255], [7, 250, 1]]], dtype=np.uint8)
    image = pyvips.Image.new_from_array(pixels).copy(interpretation="b-w")
    out = to_uchar(image)
    assert out.format == "uchar" and out.interpretation == "srgb"
    assert (out.numpy() == pixels).all()


def test_float_pixels_are_rounded_and_clamped_to_8_bits():
    pixels = np.array([[[-3.4, 127.5, 300.0], [0.49, 254.6, 255.0]]])
    out = to_uchar(pyvips.Image.new_from_array(pixels))
    assert out.format == "uchar" and out.interpretation == "srgb"
    assert out.numpy().tolist() == [[[0, 128, 255], [0, 255, 255]]]


def test_wider_integers_are_clamped_to_8_bits():
    pixels = np.array([[[-20, 100, 70000]]], dtype=np.int32)
    out = to_uchar(pyvips.Image.new_from_array(pixels))
    assert out.numpy().tolist() == [[[0, 100, 255]]]
