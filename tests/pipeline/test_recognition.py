"""recognition=labels and recognition=nsfw, from the models in the recognition extra's wheels."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from types import SimpleNamespace

import pytest
import pyvips
from skimage import data as photos

from imgproxy.recognition import nsfw as nsfw_module
from imgproxy.recognition.torchfile import load_state_dict
from tests.support.images import astronaut, jpeg, png, solid

COFFEE = jpeg(pyvips.Image.new_from_array(photos.coffee()).copy(interpretation="srgb"))


def answer(render, data: bytes, query: str) -> dict:
    out = render(data, query)
    assert out.media_type == "application/json"
    return json.loads(out.body)


def test_labels_put_espresso_or_a_cup_at_the_top_for_the_coffee_photo(render):
    labels = answer(render, COFFEE, "recognition=labels")["labels"]
    names = [label["Name"].lower() for label in labels[:3]]
    assert labels[0]["Name"] == "Espresso" and labels[0]["Confidence"] > 50
    assert any("cup" in name or "mug" in name for name in names)
    confidences = [label["Confidence"] for label in labels]
    assert confidences == sorted(confidences, reverse=True) and all(
        0 < c <= 100 for c in confidences
    )


def test_nsfw_says_false_for_the_astronaut(render):
    nudity = answer(render, jpeg(astronaut()), "recognition=nsfw")["nsfw"]["nudity"]
    assert nudity["value"] is False and 50 <= nudity["confidence"] <= 100


def test_nsfw_hands_the_model_a_thumbnail_of_its_input_size(render, monkeypatch):
    shapes = []

    class Recording:
        def classify(self, pixels):
            shapes.append(pixels.shape)
            return SimpleNamespace(is_nsfw=False, nsfw=0.1, sfw=0.9)

    monkeypatch.setattr(nsfw_module, "_classifier", Recording)
    found = answer(render, png(solid(3000, 2000, (90, 120, 150))), "recognition=nsfw")
    assert found["nsfw"]["nudity"] == {"confidence": 90.0, "value": False}
    assert shapes == [(nsfw_module.MODEL_INPUT, nsfw_module.MODEL_INPUT, 3)]


def test_recognition_joins_the_meta_answer(render):
    found = answer(render, png(astronaut().resize(0.5)), "meta=true&recognition=labels")
    assert found["width"] == 256 and isinstance(found["labels"], list)


def test_the_weights_reader_refuses_code_in_a_pickle(tmp_path):
    path = tmp_path / "evil.pth"
    with path.open("wb") as fh:
        for value in (1, 1001, {}):
            pickle.dump(value, fh)
        pickle.dump(subprocess.run, fh)
    with pytest.raises(pickle.UnpicklingError):
        load_state_dict(path)


def test_without_the_extra_recognition_answers_501_naming_it():
    script = """
import sys, json
sys.modules["onnxruntime"] = None
from imgproxy.errors import ImgproxyError
from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.pipeline.run import execute
data = open("samples/coffee.jpg", "rb").read()
try:
    execute(decode([("recognition", "labels")], DecodeOptions()), data)
except ImgproxyError as exc:
    print(json.dumps(exc.to_dict()))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    error = json.loads(done.stdout)["error"]
    assert (error["status"], error["code"], error["param"]) == (501, "not_installed", "recognition")
    assert "imgproxy[recognition]" in error["message"]
