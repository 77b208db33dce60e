"""The scripts behind `make samples` and `make gallery` still run and write what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyvips

ROOT = Path(__file__).resolve().parent.parent


def run(script: str, folder: Path) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), str(folder)], check=True, cwd=ROOT
    )


def test_make_gallery_renders_both_contact_sheets(tmp_path):
    run("make_gallery.py", tmp_path)
    filters = pyvips.Image.new_from_file(str(tmp_path / "filters.png"))
    adjustments = pyvips.Image.new_from_file(str(tmp_path / "adjustments.png"))
    assert filters.width > 700 and filters.height > 700
    assert adjustments.height > adjustments.width > 400


def test_make_samples_writes_every_sample(tmp_path):
    run("make_samples.py", tmp_path)
    committed = {p.name for p in (ROOT / "samples").iterdir() if p.suffix != ".md"}
    written = {p.name for p in tmp_path.iterdir()}
    assert written == committed
    assert pyvips.Image.new_from_file(str(tmp_path / "animated.gif"), n=-1).get("n-pages") == 8
