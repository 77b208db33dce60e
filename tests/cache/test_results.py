"""The result store: results of one plan are found again whatever the original's version."""

from __future__ import annotations

import asyncio

import boto3
import pytest

from imgproxy.cache.keys import ResultName
from imgproxy.cache.results import Results
from imgproxy.cache.shared import SharedTier
from imgproxy.cache.stores import BlobStore
from tests.support.s3 import s3_server

BUCKET = "results"


def name(plan: str = "plan-a", validator: str = "v1", token: str = "png") -> ResultName:
    return ResultName("http:https://img.example", "cat.jpg", plan, token, validator, "settings")


def stored(results: Results, *names: ResultName) -> Results:
    for each in names:
        results.put(each, {"media_type": "image/png"}, each.key.encode())
    return results


@pytest.fixture(scope="module")
def endpoint():
    with s3_server({BUCKET: {}}) as url:
        yield url


def shared_tier(endpoint: str) -> SharedTier:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    return SharedTier(BUCKET, "imgproxy/results/", client)


def test_forget_removes_every_version_and_format_of_one_plan(tmp_path):
    versions = [name(validator="v1"), name(validator="v2"), name(validator="v2", token="webp")]
    other = name(plan="plan-b")
    results = stored(Results(BlobStore(tmp_path, 10)), *versions, other)
    assert asyncio.run(results.forget(other.origin, other.path, "plan-a")) == 3
    assert all(asyncio.run(results.find(each)) is None for each in versions)
    assert asyncio.run(results.find(other)).body == other.key.encode()


def test_evicting_the_original_still_removes_every_plan(tmp_path):
    results = stored(Results(BlobStore(tmp_path, 10)), name(), name(plan="plan-b"))
    results.evict(name().tag)
    assert asyncio.run(results.find(name())) is None
    assert asyncio.run(results.find(name(plan="plan-b"))) is None


def test_forget_reaches_the_shared_tier_from_another_server(tmp_path, endpoint):
    here = stored(Results(BlobStore(tmp_path / "a", 10), shared_tier(endpoint)), name(), name("b"))
    there = Results(BlobStore(tmp_path / "b", 10), shared_tier(endpoint))
    assert asyncio.run(there.forget(name().origin, name().path, "plan-a")) == 1
    assert here.shared.get(name()) is None and here.shared.get(name("b")) is not None
