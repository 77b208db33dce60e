"""End to end: the real server on loopback, over a local folder of originals."""

from __future__ import annotations

import os
import time

import httpx
import pyvips

from tests.support.images import GREEN, RED, close, grating, jpeg, pixels
from tests.support.server import local_settings, running_server


def image_of(response) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(response.content, "")


def test_health_answers_healthy(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.text == "healthy"


def test_the_issue_example_gives_a_400x300_webp(client):
    response = client.get("/photo.jpg?width=400&height=300&crop=fit&format=webp")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"
    assert response.content[8:12] == b"WEBP"
    assert (image_of(response).width, image_of(response).height) == (400, 300)


def test_image_answers_carry_the_documented_headers(client, originals):
    response = client.get("/quad.png?width=100&cb=1")
    headers = response.headers
    assert headers["etag"].startswith('"') and headers["etag"].endswith('"')
    assert headers["cache-control"] == "public, max-age=86400"
    assert headers["x-original-filesize"] == str((originals / "quad.png").stat().st_size)
    assert headers["x-original-resolution"] == "200x100"
    assert headers["access-control-allow-origin"] == "*"
    assert headers["x-served-by"] == "test"
    assert headers["last-modified"].endswith("GMT")
    assert len(headers["x-request-id"]) >= 16
    assert "render;dur=" in headers["server-timing"] or "cache;dur=" in headers["server-timing"]
    assert int(headers["content-length"]) == len(response.content)
    assert "vary" not in headers


def test_a_repeat_is_served_from_the_result_cache(client):
    first = client.get("/quad.png?width=77")
    deadline = time.monotonic() + 5
    second = client.get("/quad.png?width=77")
    while second.headers["x-cache"] != "HIT" and time.monotonic() < deadline:
        time.sleep(0.05)
        second = client.get("/quad.png?width=77")
    assert first.headers["x-cache"] == "MISS" and second.headers["x-cache"] == "HIT"
    assert second.content == first.content and second.headers["etag"] == first.headers["etag"]
    assert second.headers["x-original-resolution"] == "200x100"


def test_if_none_match_gives_304_without_a_body(client):
    etag = client.get("/quad.png?width=60").headers["etag"]
    response = client.get("/quad.png?width=60", headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.content == b""
    assert response.headers["etag"] == etag
    other = client.get("/quad.png?width=61", headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_format_auto_follows_accept_and_sets_vary(client):
    def get(accept: str):
        return client.get("/photo.jpg?width=100&format=auto", headers={"Accept": accept})

    avif = get("image/avif,image/webp,image/*,*/*;q=0.8")
    webp = get("image/webp,*/*")
    old = get("image/*,*/*;q=0.8")
    refused = get("image/webp;q=0,image/avif;q=0")
    assert avif.headers["content-type"] == "image/avif"
    assert webp.headers["content-type"] == "image/webp"
    assert old.headers["content-type"] == "image/jpeg"
    assert refused.headers["content-type"] == "image/jpeg"
    assert all(r.headers["vary"] == "Accept" for r in (avif, webp, old, refused))
    assert len({avif.headers["etag"], webp.headers["etag"], old.headers["etag"]}) == 3


def test_unknown_parameters_do_not_change_the_result(client):
    plain = client.get("/quad.png?width=50")
    tracked = client.get("/quad.png?width=50&utm_source=news&fbclid=x")
    assert tracked.headers["etag"] == plain.headers["etag"]


def test_base64_twins_equal_their_plain_forms(client):
    plain = client.get("/quad.png?width=90&format=webp")
    twin = client.get("/quad.png?width64=OTA&format64=d2VicA==")
    assert twin.status_code == 200 and twin.headers["etag"] == plain.headers["etag"]
    assert twin.content == plain.content


def test_dpr_doubles_the_width(client):
    assert image_of(client.get("/photo.jpg?dpr=2&width=150")).width == 300


def test_pixels_survive_the_round_trip(client):
    px = pixels(client.get("/quad.png?flip=true").content)
    assert close(px[5, 195], RED) and close(px[5, 5], GREEN)


def test_nested_paths_are_served(client):
    assert client.get("/nested/dir/quad.png?width=10").status_code == 200


def test_a_bad_parameter_is_a_400_json_error_that_names_it(client):
    response = client.get("/photo.jpg?width=abc")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "error": {
            "status": 400,
            "code": "invalid_parameter",
            "param": "width",
            "message": "width must be an integer >= 1, got 'abc'",
        }
    }


def test_post_controls_on_a_get_are_400(client):
    body = client.get("/photo.jpg?width=100&cache_queries=[]").json()["error"]
    assert (body["code"], body["param"]) == ("invalid_parameter", "cache_queries")


def test_a_missing_original_is_404(client):
    response = client.get("/missing.jpg?width=10")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_the_root_path_is_404(client):
    assert client.get("/").status_code == 404


def test_paths_that_leave_the_origin_folder_are_refused(client):
    for path in ("/%2e%2e/secret.jpg", "/nested/%2e%2e/%2e%2e/x.jpg"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert response.json()["error"]["code"] == "invalid_path"


def test_a_path_too_long_for_the_file_system_is_400_not_a_crash(client):
    for path in ("/" + "a" * 300 + ".jpg", "/" + "d/" * 3000 + "x.jpg"):
        response = client.get(path + "?width=10")
        assert response.status_code == 400, path[:20]
        assert response.json()["error"]["code"] == "invalid_path"


def test_an_original_that_is_not_an_image_is_400_undecodable(client):
    response = client.get("/not-an-image.jpg?width=10")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "undecodable_image"


def test_a_changed_original_gets_a_new_etag(client, originals):
    path = originals / "changing.png"
    path.write_bytes(originals.joinpath("quad.png").read_bytes())
    before = client.get("/changing.png?width=20")
    path.write_bytes(originals.joinpath("alpha.png").read_bytes())
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    after = client.get("/changing.png?width=20")
    assert before.headers["etag"] != after.headers["etag"]
    assert image_of(after).hasalpha() and not image_of(before).hasalpha()


def test_a_sane_request_id_is_echoed_and_a_bad_one_replaced(client):
    assert client.get("/health", headers={"X-Request-Id": "abc-123"}).headers.get(
        "x-request-id"
    ) in (None, "abc-123")
    echoed = client.get("/quad.png?width=10", headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    replaced = client.get("/quad.png?width=10", headers={"X-Request-Id": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"


def test_head_answers_headers_without_a_body(client):
    response = client.head("/quad.png?width=30")
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-type"] == "image/png"


def test_adjustments_and_filters_are_served(client):
    plain = pixels(client.get("/quad.png?format=png").content)
    toned = client.get("/quad.png?filter=negate&brightness=0.2&format=png")
    assert toned.status_code == 200
    assert pixels(toned.content)[5, 5, 0] < 60 < plain[5, 5, 0]


def test_animations_are_served_moving_and_as_mp4(client):
    gif = client.get("/moving.gif?width=20")
    assert gif.headers["content-type"] == "image/gif"
    assert pyvips.Image.new_from_buffer(gif.content, "", n=-1).get("n-pages") == 4
    video = client.get("/moving.gif?width=20&format=mp4")
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"


def test_meta_answers_json_with_caching_headers(client):
    response = client.get("/photo.jpg?meta=true&face=true")
    meta = response.json()
    assert response.headers["content-type"] == "application/json"
    assert response.headers["etag"] and response.headers["cache-control"] != "no-store"
    assert (meta["width"], meta["fileType"]) == (512, "jpeg") and len(meta["faces"]) == 1


def test_crop_face_is_served(client):
    response = client.get("/photo.jpg?width=120&height=200&crop=face")
    assert (image_of(response).width, image_of(response).height) == (120, 200)


def test_quality_auto_reports_the_chosen_quality(client):
    response = client.get("/photo.jpg?width=200&quality=auto")
    assert response.status_code == 200 and 40 <= int(response.headers["x-quality"]) <= 90
    assert "x-quality" not in client.get("/photo.jpg?width=200&quality=70").headers


def test_recognition_answers_json(client):
    response = client.get("/photo.jpg?recognition=nsfw")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.json()["nsfw"]["nudity"]["value"] is False


def test_shrink_on_load_fast_from_the_config_decodes_jpegs_to_just_above_the_target(tmp_path):
    files = {"stripes.jpg": jpeg(grating(4000, 3000, period=7.27))}
    spreads = {}
    for mode in ("fine", "fast"):
        settings = local_settings(tmp_path / mode, files, output={"shrink_on_load": mode})
        with running_server(settings) as base:
            answer = httpx.get(f"{base}/stripes.jpg?width=400", timeout=30)
        assert answer.status_code == 200 and image_of(answer).width == 400
        spreads[mode] = pixels(answer.content).astype(float).std()
    # The 1/8 decode's block averages let the stripes through as a beat; Lanczos does not.
    assert spreads["fine"] < 2 < 4 < spreads["fast"]
