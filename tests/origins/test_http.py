"""The HTTP origin against a real server on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import Iterator

import httpx
import pytest

from imgproxy.errors import (
    DeadlineExceeded,
    ForbiddenByConfig,
    NotFound,
    OriginFailed,
    SourceTooLarge,
)
from imgproxy.origins.base import Source
from imgproxy.origins.guard import UrlPolicy
from imgproxy.origins.http import HttpOrigin, Route, UrlOrigin
from tests.support.origin_server import LAST_MODIFIED, OriginServer

FILES = {
    "photos/cat.jpg": b"jpeg bytes",
    "dir/a b ü.png": b"png bytes",
    "odd?name#1.gif": b"gif bytes",
    "big.bin": b"x" * 5000,
}


# Tests talk to loopback only, so the policy that lets a URL origin reach it.
OPEN = UrlPolicy(allow_private_networks=True)
GUARDED = UrlPolicy()


def fetch(url: str, path: str, *, timeout_s: float = 5.0, max_bytes: int = 1_000_000) -> Source:
    async def run() -> Source:
        origin = HttpOrigin(url, timeout_s=timeout_s, connect_timeout_s=1.0, max_bytes=max_bytes)
        try:
            return await origin.fetch(path)
        finally:
            await origin.close()

    return asyncio.run(run())


def fetch_url(url: str, policy: UrlPolicy = OPEN) -> Source:
    async def run() -> Source:
        origin = UrlOrigin(timeout_s=5.0, connect_timeout_s=1.0, max_bytes=1_000_000, policy=policy)
        try:
            return await origin.fetch(url)
        finally:
            await origin.close()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def origin() -> Iterator[OriginServer]:
    with OriginServer(FILES) as server:
        yield server


def test_a_file_comes_with_its_etag_and_last_modified(origin: OriginServer) -> None:
    source = fetch(origin.url + "/", "photos/cat.jpg")
    assert source.data == b"jpeg bytes"
    assert source.validator == f'"{hashlib.sha1(b"jpeg bytes").hexdigest()}"'
    assert source.last_modified == LAST_MODIFIED
    assert source.fetch_ms > 0


def test_the_origin_names_itself_and_cannot_tell_versions_without_a_request() -> None:
    async def run() -> tuple[str, str | None]:
        origin = HttpOrigin("http://example.test/", timeout_s=1, connect_timeout_s=1, max_bytes=1)
        try:
            return origin.name, await origin.validator("a.jpg")
        finally:
            await origin.close()

    assert asyncio.run(run()) == ("http:http://example.test", None)


@pytest.mark.parametrize("path", ["dir/a b ü.png", "odd?name#1.gif"])
def test_paths_are_percent_encoded(origin: OriginServer, path: str) -> None:
    assert fetch(origin.url, path).data == FILES[path]
    assert origin.requests[-1] == path


def test_redirects_are_followed(origin: OriginServer) -> None:
    assert fetch(origin.url, "redirect/photos/cat.jpg").data == b"jpeg bytes"
    assert origin.requests[-2:] == ["redirect/photos/cat.jpg", "photos/cat.jpg"]


def test_a_redirect_loop_is_502(origin: OriginServer) -> None:
    with pytest.raises(OriginFailed) as err:
        fetch(origin.url, "redirect/" * 6 + "photos/cat.jpg")
    assert err.value.status == 502


@pytest.mark.parametrize("path", ["missing.jpg", "status/410"])
def test_404_and_410_are_not_found(origin: OriginServer, path: str) -> None:
    with pytest.raises(NotFound) as err:
        fetch(origin.url, path)
    assert err.value.status == 404


@pytest.mark.parametrize("code", ["500", "403"])
def test_other_origin_errors_are_502_naming_the_status(origin: OriginServer, code: str) -> None:
    with pytest.raises(OriginFailed) as err:
        fetch(origin.url, f"status/{code}")
    assert err.value.status == 502
    assert err.value.message == f"origin answered {code} for status/{code}"


def test_a_slow_origin_is_504(origin: OriginServer) -> None:
    with pytest.raises(DeadlineExceeded) as err:
        fetch(origin.url, "slow/3", timeout_s=0.5)
    assert err.value.status == 504


def test_a_dripping_body_is_504(origin: OriginServer) -> None:
    with pytest.raises(DeadlineExceeded) as err:
        fetch(origin.url, "drip", timeout_s=0.6)
    assert err.value.status == 504


@pytest.mark.parametrize("path", ["big.bin", "endless"])
def test_bodies_over_the_byte_cap_are_413(origin: OriginServer, path: str) -> None:
    with pytest.raises(SourceTooLarge) as err:
        fetch(origin.url, path, max_bytes=1000)
    assert err.value.status == 413


def test_a_closed_port_is_502() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(OriginFailed) as err:
        fetch(f"http://127.0.0.1:{port}", "a.jpg")
    assert err.value.status == 502


def test_url_messages_leave_out_credentials_and_query(origin: OriginServer) -> None:
    host = origin.url.removeprefix("http://")
    with pytest.raises(NotFound) as err:
        fetch_url(f"http://user:hunter2@{host}/missing.jpg?token=s3cret#frag")
    assert err.value.status == 404
    assert err.value.message == f"http://{host}/missing.jpg was not found at the origin"


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/a.jpg", "http://[::1/a.jpg"])
def test_malformed_urls_are_502(url: str) -> None:
    with pytest.raises(OriginFailed) as err:
        fetch_url(url)
    assert err.value.status == 502


def test_a_loopback_url_is_refused_before_any_connection(origin):
    seen = len(origin.requests)
    with pytest.raises(ForbiddenByConfig) as err:
        fetch_url(f"{origin.url}/photos/cat.jpg", GUARDED)
    assert err.value.status == 401 and len(origin.requests) == seen


def test_a_host_name_resolving_to_loopback_is_refused_at_connect_time(origin):
    seen = len(origin.requests)
    with pytest.raises(ForbiddenByConfig):
        fetch_url(origin.url.replace("127.0.0.1", "localhost") + "/photos/cat.jpg", GUARDED)
    assert len(origin.requests) == seen


def test_every_redirect_is_checked_again(origin):
    only_ip = UrlPolicy(allow_private_networks=True, hosts_allowed=("127.0.0.1",))
    assert fetch_url(f"{origin.url}/redirect/photos/cat.jpg", only_ip).data == b"jpeg bytes"
    port = origin.url.rsplit(":", 1)[1]
    with pytest.raises(ForbiddenByConfig):
        fetch_url(f"{origin.url}/redirect-to/localhost:{port}/photos/cat.jpg", only_ip)


def test_more_than_five_redirects_is_502(origin):
    chain = "redirect/" * 6 + "photos/cat.jpg"
    with pytest.raises(OriginFailed) as err:
        fetch_url(f"{origin.url}/{chain}")
    assert err.value.status == 502 and "redirects" in err.value.message


def test_a_connection_reset_is_502(origin):
    with pytest.raises(OriginFailed) as err:
        fetch(origin.url, "reset")
    assert err.value.status == 502


def port_of(origin: OriginServer) -> str:
    return origin.url.rsplit(":", 1)[1]


def test_an_international_host_name_is_pinned_to_its_checked_address(origin, dns):
    dns["xn--bcher-kva.example"] = ("127.0.0.1",)
    port = port_of(origin)
    for host in ("xn--bcher-kva.example", "bücher.example"):
        assert fetch_url(f"http://{host}:{port}/photos/cat.jpg").data == b"jpeg bytes"
        assert origin.hosts[-1] == f"xn--bcher-kva.example:{port}"


def test_a_url_the_pin_does_not_name_is_not_fetched():
    route = Route(resolve=("a.test", 80, "127.0.0.1"))
    with pytest.raises(OriginFailed):
        route.apply(httpx.URL("http://b.test/a.png"))


def test_a_relative_redirect_keeps_the_host_name(origin):
    port = port_of(origin)
    assert fetch_url(f"http://localhost:{port}/redirect/photos/cat.jpg").data == b"jpeg bytes"
    assert origin.requests[-2:] == ["redirect/photos/cat.jpg", "photos/cat.jpg"]
    assert origin.hosts[-2:] == [f"localhost:{port}", f"localhost:{port}"]


def test_a_relative_redirect_is_checked_against_its_host_name(origin):
    only_localhost = UrlPolicy(allow_private_networks=True, hosts_allowed=("localhost",))
    port = port_of(origin)
    url = f"http://localhost:{port}/redirect/photos/cat.jpg"
    assert fetch_url(url, only_localhost).data == b"jpeg bytes"


def test_the_next_address_is_tried_when_one_refuses_the_connection(origin, dns):
    # Nothing listens on 127.0.0.0 and ::1; the fault server is on 127.0.0.1 only.
    dns["multi.test"] = ("127.0.0.0", "::1", "127.0.0.1")
    port = port_of(origin)
    assert fetch_url(f"http://multi.test:{port}/photos/cat.jpg").data == b"jpeg bytes"
    assert origin.hosts[-1] == f"multi.test:{port}"


def test_when_no_address_connects_the_fetch_is_502(dns):
    dns["nowhere.test"] = ("127.0.0.0", "::1")
    with pytest.raises(OriginFailed) as err:
        fetch_url("http://nowhere.test:9/a.jpg")
    assert err.value.status == 502 and "ConnectError" in err.value.message
