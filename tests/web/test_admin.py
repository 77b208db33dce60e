"""The admin API: token, redacted configuration, counters, purges."""

from __future__ import annotations

import time

import httpx
import pytest
from starlette.testclient import TestClient

from imgproxy.config_loader import build_settings
from imgproxy.web.admin import AdminState, create_admin_app, without_url_credentials
from tests.support.images import png, quadrants
from tests.support.server import running_app, running_server

ADMIN_TOKEN = "adm1n"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    root = tmp_path_factory.mktemp("originals")
    (root / "quad.png").write_bytes(png(quadrants(200, 100)))
    return {
        "origin": {"kind": "local", "root": str(root)},
        "cache": {"dir": str(tmp_path_factory.mktemp("cache"))},
        "uploads": {"token": "upl0ad"},
        "admin": {"enabled": True, "token": ADMIN_TOKEN},
    }


@pytest.fixture(scope="module")
def client(settings):
    with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def admin(settings):
    app = create_admin_app(build_settings(settings))
    with running_app(app) as url, httpx.Client(base_url=url, headers=AUTH, timeout=30) as http:
        yield http


def cached(client, url: str) -> str:
    """X-Cache of a second request, once the first one's result is stored."""
    client.get(url)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        state = client.get(url).headers["x-cache"]
        if state == "HIT":
            return state
        time.sleep(0.05)
    return "MISS"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}])
def test_the_admin_api_needs_its_token(admin, headers):
    response = httpx.get(f"{admin.base_url}/stats", headers=headers)
    assert response.status_code == 401 and response.json()["error"]["code"] == "forbidden"


def test_config_is_shown_with_secrets_redacted(admin):
    config = admin.get("/config").json()
    assert config["admin"]["token"] == "***" and config["uploads"]["token"] == "***"
    assert config["server"]["port"] == 8080


def test_stats_count_requests_hits_and_renders(admin, client):
    cached(client, "/quad.png?width=11")
    client.get("/quad.png?width=abc")
    time.sleep(1.3)
    stats = admin.get("/stats").json()
    assert stats["requests"] >= 3 and stats["cache_hits"] >= 1 and stats["renders"] >= 1
    assert stats["errors"] >= 1 and stats["bytes_sent"] > 0
    assert stats["caches"]["results"]["entries"] >= 1


def test_delete_with_a_query_purges_that_result(admin, client):
    assert cached(client, "/quad.png?width=33") == "HIT"
    assert admin.delete("/quad.png?width=33").json() == {"purged": 1}
    assert client.get("/quad.png?width=33").headers["x-cache"] == "MISS"


def test_delete_all_purges_every_variant_of_an_original(admin, client):
    assert cached(client, "/quad.png?width=44") == "HIT"
    assert cached(client, "/quad.png?width=45&format=webp") == "HIT"
    assert admin.delete("/quad.png?all=true").json()["purged"] >= 2
    assert client.get("/quad.png?width=44").headers["x-cache"] == "MISS"
    assert client.get("/quad.png?width=45&format=webp").headers["x-cache"] == "MISS"


def test_delete_root_purges_everything(admin, client):
    assert cached(client, "/quad.png?width=55") == "HIT"
    assert admin.delete("/").json()["purged"] >= 1
    assert client.get("/quad.png?width=55").headers["x-cache"] == "MISS"


def test_a_non_ascii_token_is_401_not_500(admin):
    response = httpx.get(f"{admin.base_url}/stats", headers={"Authorization": b"Bearer \xe9"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "forbidden"


def test_config_hides_credentials_inside_urls(settings):
    raw = {**settings, "jobs": {"redis_url": "redis://:hunter2@127.0.0.1:6379/0"}}
    with TestClient(create_admin_app(build_settings(raw))) as http:
        config = http.get("/config", headers=AUTH).json()
    assert config["jobs"]["redis_url"] == "redis://***@127.0.0.1:6379/0"
    assert "hunter2" not in str(config)


def test_credentials_are_found_in_nested_values_and_lists():
    value = {"a": ["http://u:p@h/x?q=1", "plain", 3], "b": {"c": "s3://key@bucket"}}
    assert without_url_credentials(value) == {
        "a": ["http://***@h/x?q=1", "plain", 3],
        "b": {"c": "s3://***@bucket"},
    }


def test_an_unexpected_admin_error_is_a_json_500(settings, monkeypatch):
    def broken(self):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(AdminState, "stores", broken)
    app = create_admin_app(build_settings(settings))
    with TestClient(app, raise_server_exceptions=False) as http:
        response = http.get("/stats", headers=AUTH)
    assert response.status_code == 500 and response.headers["cache-control"] == "no-store"
    assert response.json()["error"]["code"] == "internal_error"
