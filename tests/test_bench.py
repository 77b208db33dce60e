"""A smoke run of the benchmark: one short case, no thumbor. It checks the harness, not speed."""

from __future__ import annotations

import re
import subprocess
import sys

import pyvips


def test_a_quick_benchmark_run_writes_its_report_and_plot(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    report = (tmp_path / "latest.md").read_text()
    row = next(line for line in report.splitlines() if line.startswith("| 1. 12 MP JPEG"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    raw, pipeline, served = (float(cells[n]) for n in (1, 2, 3))
    assert raw > 0 and pipeline > 0 and served > 0
    assert re.fullmatch(r"\d+\.\d\d", cells[7]), cells
    plot = pyvips.Image.new_from_file(str(tmp_path / "latest.png"))
    assert plot.width > 500 and plot.height > 200
