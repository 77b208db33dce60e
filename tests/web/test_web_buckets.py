"""The bucket and region parameters: region names are checked, clients are built off the event
loop, and only a few bucket origins are kept."""

from __future__ import annotations

import asyncio
import threading

import pytest

from imgproxy.cache.stores import BlobStore
from imgproxy.config import build_settings
from imgproxy.errors import InvalidParameter
from imgproxy.params.plan import SourceRequest
from imgproxy.sources import BUCKET_ORIGINS, Sources


class FakeBucket:
    """Stands in for S3Origin; remembers the thread it was built on."""

    def __init__(self, bucket: str, region: str) -> None:
        self.name = f"s3::{region}:{bucket}"
        self.built_on = threading.current_thread()

    async def close(self) -> None:
        return None


@pytest.fixture
def sources(tmp_path) -> Sources:
    settings = build_settings({"origin": {"region": "minio-local"}})
    found = Sources(settings, BlobStore(tmp_path / "o", 1), BlobStore(tmp_path / "p", 1))
    found._s3 = FakeBucket  # type: ignore[method-assign, assignment]
    return found


def pick(sources: Sources, bucket: str, region: str | None) -> FakeBucket:
    origin, _ = asyncio.run(sources.pick(SourceRequest(bucket=bucket, region=region), "a.jpg"))
    return origin.inner  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-2", "ap-southeast-4", "us-gov-west-1"])
def test_aws_region_names_are_accepted(sources, region):
    assert pick(sources, "photos", region).name == f"s3::{region}:photos"


@pytest.mark.parametrize("region", ["nowhere", "us-east-1x", "../etc", "eu-central-999"])
def test_other_region_values_are_400_naming_region(sources, region):
    with pytest.raises(InvalidParameter) as error:
        pick(sources, "photos", region)
    assert error.value.param == "region"


def test_the_configured_region_is_accepted_whatever_its_name(sources):
    assert pick(sources, "photos", "minio-local").name == "s3::minio-local:photos"


def test_clients_are_built_off_the_event_loop_and_only_a_few_kept(sources):
    built = [pick(sources, f"bucket-{i}", "us-east-1") for i in range(BUCKET_ORIGINS * 3)]
    assert all(each.built_on is not threading.main_thread() for each in built)
    assert len(sources.buckets) == BUCKET_ORIGINS
    assert ("bucket-23", "us-east-1") in sources.buckets
