"""POST: processing uploads, keeping them, warming the result cache, and refusing bad ones."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import httpx
import pytest
import pyvips

from imgproxy.errors import ForbiddenByConfig
from imgproxy.web.uploads import check_token
from tests.support.images import GREEN, RED, astronaut, close, jpeg, pixels, png, quadrants, solid
from tests.support.server import running_server

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
QUAD = png(quadrants(200, 100))
MAGENTA = (255, 0, 255)
MARKED = {"mark": "/mark.png", "mark_pos": "bottom|right", "format": "png"}


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("originals")
    (root / "mark.png").write_bytes(png(solid(20, 20, MAGENTA)))
    return root


@pytest.fixture(scope="module")
def client(root, tmp_path_factory):
    settings = {
        "origin": {"kind": "local", "root": str(root), "max_bytes": 300_000},
        "uploads": {"token": TOKEN, "enabled": True},
        "cache": {"dir": str(tmp_path_factory.mktemp("cache"))},
    }
    with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


def post(client, path: str, body: bytes = QUAD, headers=AUTH, **fields: str) -> httpx.Response:
    files = {"file": ("upload.png", body, "image/png")}
    return client.post(path, files=files, data=fields, headers=headers)


def test_a_post_answers_the_processed_upload(client):
    response = post(client, "/uploads/a.png?width=100")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert pyvips.Image.new_from_buffer(response.content, "").width == 100


def test_parameters_may_come_as_form_fields(client):
    response = post(client, "/uploads/b.png", width="50", format="webp")
    assert response.headers["content-type"] == "image/webp"
    assert pyvips.Image.new_from_buffer(response.content, "").width == 50


def test_uploads_are_written_to_the_origin_folder_when_enabled(client, root):
    post(client, "/stored/c.png?width=10")
    assert (root / "stored" / "c.png").read_bytes() == QUAD


def test_an_upload_the_folder_cannot_take_is_a_502_json_error(client, root, monkeypatch):
    def refused(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "write_bytes", refused)
    response = post(client, "/unwritable/e.png?width=10")
    assert response.status_code == 502 and response.headers["cache-control"] == "no-store"
    error = response.json()["error"]
    assert error["code"] == "origin_failed" and "Permission denied" in error["message"]
    assert not (root / "unwritable" / "e.png").exists()


def test_cache_processed_makes_the_processed_upload_the_original(client):
    assert post(client, "/kept/d.png", flip="true", cache_processed="true").status_code == 200
    px = pixels(client.get("/kept/d.png?format=png").content)
    assert close(px[5, 195], RED) and close(px[5, 5], GREEN)


def test_cache_queries_fill_the_result_cache(client):
    queries = json.dumps(["width=20", "width=40&format=webp"])
    assert post(client, "/warm/e.png", cache_queries=queries).status_code == 200
    first = client.get("/warm/e.png?width=20")
    assert first.headers["x-cache"] == "HIT"
    assert client.get("/warm/e.png?width=40&format=webp").headers["x-cache"] == "HIT"
    assert client.get("/warm/e.png?width=30").headers["x-cache"] == "MISS"


def test_a_repeated_cache_queries_parameter_works_too(client):
    response = client.post(
        "/warm/f.png?cache_queries=width%3D21&cache_queries=width%3D22",
        files={"file": ("f.png", QUAD, "image/png")},
        headers=AUTH,
    )
    assert response.status_code == 200
    assert client.get("/warm/f.png?width=22").headers["x-cache"] == "HIT"


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]
)
def test_a_post_without_the_token_is_401(client, headers):
    response = post(client, "/uploads/g.png", headers=headers)
    assert response.status_code == 401 and response.json()["error"]["code"] == "forbidden"


def test_post_is_off_without_a_configured_token():
    with pytest.raises(ForbiddenByConfig):
        check_token(f"Bearer {TOKEN}", "")


def test_a_body_that_is_not_an_image_is_400(client):
    response = post(client, "/uploads/h.png", body=b"definitely not an image")
    assert response.status_code == 400 and response.json()["error"]["code"] == "undecodable_image"


def test_a_post_without_a_file_is_400(client):
    response = client.post("/uploads/i.png", data={"width": "10"}, headers=AUTH)
    assert response.status_code == 400 and response.json()["error"]["param"] == "file"


def test_an_upload_over_max_bytes_is_413_by_content_length(client):
    response = post(client, "/uploads/j.png", body=b"x" * 400_000)
    assert response.status_code == 413 and response.json()["error"]["code"] == "source_too_large"


def test_a_chunked_upload_over_max_bytes_is_413_while_streaming(client):
    def chunks():
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="k.png"\r\n\r\n'
        for _ in range(40):
            yield b"x" * 10_000

    headers = {**AUTH, "Content-Type": "multipart/form-data; boundary=b"}
    response = client.post("/uploads/k.png", content=chunks(), headers=headers)
    assert response.status_code == 413


def test_bad_cache_queries_are_400(client):
    response = post(client, "/uploads/l.png", cache_queries='["width=abc"]')
    error = response.json()["error"]
    assert response.status_code == 400 and error["param"] == "cache_queries"
    assert "width" in error["message"]


def test_a_post_draws_its_watermark(client):
    response = post(client, "/marked/a.png", **MARKED)
    px = pixels(response.content)
    assert response.status_code == 200 and close(px[95, 195], MAGENTA) and close(px[5, 5], RED)


def test_cache_queries_draw_their_watermark_into_the_result_a_get_finds(client):
    query = "width=100&mark=/mark.png&mark_pos=bottom%7Cright&format=png"
    assert post(client, "/marked/b.png", cache_queries=json.dumps([query])).status_code == 200
    found = client.get(f"/marked/b.png?{query}")
    assert found.headers["x-cache"] == "HIT" and close(pixels(found.content)[45, 95], MAGENTA)


def test_a_cache_query_whose_required_watermark_is_missing_fails(client):
    query = "width=50&mark=/absent.png&mark_required=true"
    response = post(client, "/marked/c.png", cache_queries=json.dumps([query]))
    assert response.status_code == 404 and response.json()["error"]["param"] == "mark"


def test_a_cache_query_without_its_optional_watermark_is_not_cached(client):
    query = "width=51&mark=/absent.png"
    assert post(client, "/marked/d.png", cache_queries=json.dumps([query])).status_code == 200
    assert client.get(f"/marked/d.png?{query}").headers["x-cache"] == "MISS"


def test_cache_processed_needs_every_overlay_of_what_it_keeps(client):
    response = post(client, "/marked/e.png", cache_processed="true", mark="/absent.png")
    assert response.status_code == 404 and response.json()["error"]["param"] == "mark"


def test_a_post_past_its_deadline_is_504(root, tmp_path):
    settings = {
        "origin": {"kind": "local", "root": str(root)},
        "uploads": {"token": TOKEN},
        "cache": {"dir": str(tmp_path / "cache")},
        "server": {"request_timeout_s": 0.1},
    }
    big = jpeg(astronaut().resize(4.0))
    with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        response = post(http, "/slow/a.jpg?width=4000&blur=60", body=big)
    assert response.status_code == 504 and response.json()["error"]["code"] == "timeout"
