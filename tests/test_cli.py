"""The imgproxy command."""

from __future__ import annotations

import subprocess
import sys

from imgproxy.cli import main


def test_url_prints_a_url_with_encoded_parameters(capsys):
    assert main(["url", "photos/my cat.jpg", "width=400", "pad_color=#fff"]) == 0
    assert capsys.readouterr().out.strip() == (
        "http://127.0.0.1:8080/photos/my%20cat.jpg?width=400&pad_color=%23fff"
    )


def test_url_refuses_a_parameter_without_a_value(capsys):
    assert main(["url", "a.jpg", "width"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_serve_with_a_bad_config_stops_with_one_line_naming_the_key(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("[server]\nport = 'eighty'\n")
    done = subprocess.run(
        [sys.executable, "-m", "imgproxy", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "[server] port" in lines[0]
