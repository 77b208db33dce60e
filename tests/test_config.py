"""Settings: the documented file, environment overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from imgproxy.config import Settings
from imgproxy.config_loader import load_settings
from imgproxy.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / "config" / "imgproxy.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "imgproxy.toml"
    path.write_text(text)
    return path


def test_the_documented_file_equals_the_built_in_defaults():
    assert load_settings(DEFAULT_FILE, environ={}) == load_settings(None, environ={}) == Settings()


def test_every_key_of_the_documented_file_has_a_comment():
    lines = DEFAULT_FILE.read_text().splitlines()
    for number, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            assert lines[number - 1].startswith("#"), f"no comment above {line!r}"


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, "[server]\nport = 9000\n")
    env = {
        "IMGPROXY_SERVER_PORT": "9100",
        "IMGPROXY_SECURITY_IMAGE_PARAMS_ALLOWED": "width,height",
        "IMGPROXY_OUTPUT_AUTO_AVIF": "false",
        "IMGPROXY_HTTP_ADD_RESPONSE_HEADERS": '{"X-Node": "a"}',
        "IMGPROXY_COLORS_BRAND": "#ff6600",
        "UNRELATED": "1",
    }
    settings = load_settings(path, environ=env)
    assert settings.server.port == 9100
    assert settings.security.image_params_allowed == ("width", "height")
    assert settings.output.auto_avif is False
    assert settings.http.add_response_headers == {"X-Node": "a"}
    assert settings.colors == {"brand": "#ff6600"}


def test_imgproxy_config_names_the_file(tmp_path):
    path = write(tmp_path, "[server]\nport = 9200\n")
    assert load_settings(None, environ={"IMGPROXY_CONFIG": str(path)}).server.port == 9200


@pytest.mark.parametrize(
    ("text", "env", "named"),
    [
        ("[server]\nport = 'abc'\n", {}, "[server] port"),
        ("[server]\nport = 70000\n", {}, "[server] port"),
        ("[server]\nprot = 1\n", {}, "[server] prot"),
        ("[nonsense]\nx = 1\n", {}, "[nonsense]"),
        ("[origin]\nkind = 'ftp'\n", {}, "[origin] kind"),
        ("[origin]\nkind = 'http'\n", {}, "[origin] url"),
        ("[colors]\nbrand = 'notacolour'\n", {}, "[colors] brand"),
        ("", {"IMGPROXY_SERVER_WORKERS": "many"}, "[server] workers"),
        ("", {"IMGPROXY_OUTPUT_AUTO_AVIF": "perhaps"}, "[output] auto_avif"),
        ("[output]\nshrink_on_load = 'quick'\n", {}, "[output] shrink_on_load"),
        ("[log]\nflush_ms = -1\n", {}, "[log] flush_ms"),
        ("[server]\nmalloc_trim_threshold_mb = -1\n", {}, "[server] malloc_trim_threshold_mb"),
        ("", {"IMGPROXY_SERVER_MALLOC_TRIM_THRESHOLD_MB": "lots"}, "malloc_trim_threshold_mb"),
        ("", {"IMGPROXY_LOG_FLUSH_MS": "soon"}, "[log] flush_ms"),
        ("[admin]\nenabled = true\n", {}, "[admin] token"),
        ("", {"IMGPROXY_SERVR_PORT": "9000"}, "IMGPROXY_SERVR_PORT"),
        ("", {"IMGPROXY_SERVER": "x"}, "IMGPROXY_SERVER"),
        ("[server\n", {}, "imgproxy.toml"),
    ],
)
def test_bad_config_names_the_key(tmp_path, text, env, named):
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, text), environ=env)
    assert named in str(err.value)
    assert "\n" not in str(err.value).strip()


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_overrides_win_over_the_environment_and_are_validated():
    env = {"IMGPROXY_SERVER_PORT": "9100"}
    assert load_settings(None, env, {"server": {"port": 9300}}).server.port == 9300
    with pytest.raises(ConfigError, match=r"\[server\] port"):
        load_settings(None, env, {"server": {"port": 70000}})
