"""URLs taken from requests: address classes, host patterns, the dynamic-origin switch."""

from __future__ import annotations

import asyncio

import pytest

from imgproxy.errors import ForbiddenByConfig, InvalidParameter, OriginFailed
from imgproxy.origins import guard
from imgproxy.origins.guard import UrlPolicy, check_url, host_allowed, is_public, pin


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::",
        "fec0::1",
    ],
)
def test_non_public_addresses_are_recognised(address):
    assert not is_public(address)


@pytest.mark.parametrize(
    ("address", "inner"),
    [
        ("::127.0.0.1", "IPv4-compatible"),
        ("::ffff:0:7f00:1", "IPv4-translated"),
        ("2002:7f00:1::1", "6to4 of 127.0.0.1"),
        ("2002:a00:1::1", "6to4 of 10.0.0.1"),
        ("64:ff9b::a00:1", "NAT64 of 10.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "NAT64 of 169.254.169.254"),
        ("64:ff9b:1::a00:1", "local-use NAT64"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo client 127.0.0.1"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo client 10.0.0.1"),
    ],
)
def test_ipv6_forms_carrying_a_non_public_ipv4_are_refused(address, inner):
    assert not is_public(address), inner


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "93.184.216.34",
        "2001:4860:4860::8888",
        "2002:808:808::1",
        "64:ff9b::808:808",
    ],
)
def test_public_addresses_are_recognised(address):
    assert is_public(address)


def test_host_patterns_match_exact_hosts_and_subdomains():
    patterns = ("img.example.com", "*.cdn.example.org")
    assert host_allowed("img.example.com", patterns)
    assert host_allowed("a.cdn.example.org", patterns) and host_allowed(
        "x.y.cdn.example.org", patterns
    )
    assert not host_allowed("cdn.example.org.evil.com", patterns)
    assert not host_allowed("example.com", patterns)


def test_international_host_names_match_in_either_spelling():
    assert host_allowed("xn--bcher-kva.example", ("bücher.example",))
    assert host_allowed("img.bücher.example", ("*.xn--bcher-kva.example",))


def test_international_names_are_spelt_as_the_http_client_sends_them():
    """IDNA 2008 keeps ß: faß.de and fass.de are different domains."""
    assert host_allowed("faß.de", ("faß.de",))
    assert host_allowed("xn--fa-hia.de", ("faß.de",))
    assert not host_allowed("fass.de", ("faß.de",))


def check(url: str, **policy: object) -> None:
    asyncio.run(check_url(url, UrlPolicy(**policy), "layers", "layers item 0"))  # type: ignore[arg-type]


def test_loopback_urls_are_refused_unless_private_networks_are_allowed():
    with pytest.raises(ForbiddenByConfig) as err:
        check("http://127.0.0.1:9/a.png")
    assert err.value.status == 401 and err.value.param == "layers"
    check("http://127.0.0.1:9/a.png", allow_private_networks=True)


def test_a_host_name_resolving_to_loopback_is_refused():
    with pytest.raises(ForbiddenByConfig):
        check("http://localhost/a.png")


def test_the_dynamic_origin_switch_and_the_host_list_refuse_with_401():
    with pytest.raises(ForbiddenByConfig):
        check("http://127.0.0.1/a.png", allow_dynamic_origin=False, allow_private_networks=True)
    with pytest.raises(ForbiddenByConfig):
        check(
            "http://127.0.0.1/a.png",
            hosts_allowed=("img.example.com",),
            allow_private_networks=True,
        )


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a.png",
        "http:///nohost",
        "file:///etc/passwd",
        "http://[]/a.png",
        "http://[::1/a.png",
        "http://example.com:99999/a.png",
        "http://example.com:port/a.png",
    ],
)
def test_urls_that_are_not_http_are_400(url):
    with pytest.raises(InvalidParameter):
        check(url)


@pytest.mark.parametrize("host", ["\x80", "a..b", "-" * 70])
def test_host_names_that_cannot_be_resolved_are_502(host):
    with pytest.raises(OriginFailed) as err:
        asyncio.run(pin(f"http://{host}/a.png", None, UrlPolicy()))
    assert err.value.status == 502 and "does not resolve" in err.value.message


def test_pin_keeps_the_resolvers_order_of_addresses(dns):
    dns["dual.test"] = ("93.184.216.34", "2001:4860:4860::8888")
    host, port, addresses = asyncio.run(pin("http://dual.test/a.png", None, UrlPolicy()))
    assert (host, port, addresses) == ("dual.test", 80, ("93.184.216.34", "2001:4860:4860::8888"))


def test_pin_resolves_and_returns_the_ascii_form_of_an_international_name(dns):
    dns["xn--bcher-kva.example"] = ("93.184.216.34",)
    for url in ("https://bücher.example/a.png", "https://XN--BCHER-KVA.example/a.png"):
        host, port, addresses = asyncio.run(pin(url, None, UrlPolicy()))
        assert (host, port, addresses) == ("xn--bcher-kva.example", 443, ("93.184.216.34",))


def test_a_name_resolving_to_an_embedded_loopback_is_refused(dns):
    dns["nat64.test"] = ("64:ff9b::7f00:1",)
    with pytest.raises(ForbiddenByConfig):
        asyncio.run(pin("http://nat64.test/a.png", None, UrlPolicy()))


def test_tests_resolve_only_localhost_literals_and_names_they_add(dns):
    resolve = guard._addresses
    assert asyncio.run(resolve("localhost", 80)) == ("127.0.0.1",)
    assert asyncio.run(resolve("127.1", 80)) == ("127.0.0.1",)
    assert asyncio.run(resolve("::1", 80)) == ("::1",)
    assert asyncio.run(resolve("example.com", 80)) == ()
