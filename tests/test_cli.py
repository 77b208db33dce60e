"""The imgproxy command."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
import uvicorn

from imgproxy.cli import main
from tests.support.server import free_port, serve_process


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


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--port", "70000"], "[server] port"),
        (["--port", "0"], "[server] port"),
        (["--workers", "0"], "[server] workers"),
        (["--workers", "1000"], "[server] workers"),
    ],
)
def test_serve_flags_are_checked_like_the_config(monkeypatch, capsys, flags, named):
    started: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(kwargs))
    assert main(["serve", *flags]) == 2 and not started
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and named in lines[0]


def test_serve_flags_override_the_config(monkeypatch):
    started: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(kwargs))
    assert main(["serve", "--host", "0.0.0.0", "--port", "9001", "--workers", "3"]) == 0
    assert {k: started[0][k] for k in ("host", "port", "workers")} == {
        "host": "0.0.0.0",
        "port": 9001,
        "workers": 3,
    }


def test_serve_starts_the_server_with_workers_and_answers_health(tmp_path):
    config = tmp_path / "imgproxy.toml"
    port, admin_port = free_port(), free_port()
    config.write_text(
        f'[cache]\ndir = "{tmp_path / "cache"}"\n'
        f'[admin]\nenabled = true\ntoken = "t"\nport = {admin_port}\n'
    )
    with serve_process(config, port, "--workers", "2"):
        response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
        assert response.status_code == 200 and response.text == "healthy"
        image = httpx.get(f"http://127.0.0.1:{port}/astronaut.jpg?width=64", timeout=30)
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        admin = httpx.get(
            f"http://127.0.0.1:{admin_port}/stats", headers={"Authorization": "Bearer t"}, timeout=5
        )
        assert admin.status_code == 200 and "requests" in admin.json()


def test_the_admin_api_is_off_unless_enabled(tmp_path):
    config = tmp_path / "imgproxy.toml"
    port, admin_port = free_port(), free_port()
    config.write_text(f'[cache]\ndir = "{tmp_path / "cache"}"\n[admin]\nport = {admin_port}\n')
    with serve_process(config, port):
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{admin_port}/stats", timeout=2)
