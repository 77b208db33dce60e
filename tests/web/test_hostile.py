"""A corpus of hostile originals: each answers its documented status within a second, and the
server stays healthy."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import httpx
import pytest

from tests.support.origin_server import OriginServer
from tests.support.server import running_server

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_hostile_corpus.py"


def load_corpus_script():
    spec = importlib.util.spec_from_file_location("make_hostile_corpus", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    return folder, load_corpus_script().write(folder)


@pytest.fixture(scope="module")
def client(corpus, tmp_path_factory):
    folder, _ = corpus
    settings = {
        "origin": {"kind": "local", "root": str(folder)},
        "cache": {"dir": str(tmp_path_factory.mktemp("cache"))},
    }
    with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


def test_the_corpus_has_at_least_thirty_files(corpus):
    folder, expected = corpus
    written = {path.name for path in folder.iterdir()} - {"expected.json"}
    assert len(written) >= 30
    assert all(set(statuses) == written for statuses in expected.values())


@pytest.mark.parametrize("query", list(load_corpus_script().QUERIES))
def test_every_hostile_file_gets_its_status_quickly_and_the_server_stays_healthy(
    corpus, client, query
):
    expected = corpus[1][query]
    slow, wrong = [], []
    for name, status in expected.items():
        started = time.monotonic()
        response = client.get(f"/{name}?{query}")
        elapsed = time.monotonic() - started
        if response.status_code != status:
            wrong.append((name, response.status_code, response.text[:120]))
        if response.status_code >= 400:
            assert response.json()["error"]["status"] == response.status_code
        if elapsed > 1.0:
            slow.append((name, round(elapsed, 2)))
    assert not wrong, wrong
    assert not slow, slow
    assert client.get("/health").text == "healthy"


def test_an_http_origin_lying_about_content_types_changes_no_status(corpus, tmp_path_factory):
    """The bytes decide: images sent as text/html render, the rest sent as image/jpeg do not."""
    folder, expected = corpus
    statuses = expected["width=100"]
    files = {name: (folder / name).read_bytes() for name in statuses}
    types = {
        name: "text/html" if status == 200 else "image/jpeg" for name, status in statuses.items()
    }
    with OriginServer(files, types) as origin:
        settings = {
            "origin": {"kind": "http", "url": origin.url},
            "cache": {"dir": str(tmp_path_factory.mktemp("cache"))},
        }
        with running_server(settings) as url, httpx.Client(base_url=url, timeout=30) as http:
            got = {name: http.get(f"/{name}?width=100").status_code for name in statuses}
    assert got == statuses
