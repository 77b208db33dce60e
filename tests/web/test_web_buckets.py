"""The bucket and region parameters: region names are checked, and buckets share one S3 client
per region, built off the event loop, with only a few regions' clients kept."""

from __future__ import annotations

import asyncio
import threading

import pytest

from imgproxy.cache.stores import BlobStore
from imgproxy.config_loader import build_settings
from imgproxy.errors import InvalidParameter
from imgproxy.origins.s3 import S3Origin
from imgproxy.params.plan import SourceRequest
from imgproxy.sources import REGION_CLIENTS, Sources


class FakeClient:
    """Stands in for a boto3 client; remembers its region, the thread it was built on and
    whether it was closed."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.built_on = threading.current_thread()
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def sources(tmp_path) -> Sources:
    settings = build_settings({"origin": {"region": "minio-local"}})
    found = Sources(settings, BlobStore(tmp_path / "o", 1), BlobStore(tmp_path / "p", 1))
    found.clients.build = FakeClient
    return found


def bucket_origins(sources: Sources, *wanted: tuple[str, str | None]) -> list[S3Origin]:
    async def choose_all() -> list[S3Origin]:
        chosen = [
            await sources.choose(SourceRequest(bucket=bucket, region=region), "a.jpg")
            for bucket, region in wanted
        ]
        return [each.origin.inner for each in chosen]  # type: ignore[attr-defined]

    return asyncio.run(choose_all())


def client_of(origin: S3Origin) -> FakeClient:
    return origin._client  # type: ignore[no-any-return]


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-2", "ap-southeast-4", "us-gov-west-1"])
def test_aws_region_names_are_accepted(sources, region):
    [origin] = bucket_origins(sources, ("photos", region))
    assert origin.name == f"s3::{region}:photos" and client_of(origin).region == region


@pytest.mark.parametrize("region", ["nowhere", "us-east-1x", "../etc", "eu-central-999"])
def test_other_region_values_are_400_naming_region(sources, region):
    with pytest.raises(InvalidParameter) as error:
        bucket_origins(sources, ("photos", region))
    assert error.value.param == "region"


def test_the_configured_region_is_accepted_whatever_its_name(sources):
    [origin] = bucket_origins(sources, ("photos", "minio-local"))
    assert origin.name == "s3::minio-local:photos"


def test_buckets_of_one_region_share_one_client_built_off_the_event_loop(sources):
    origins = bucket_origins(sources, *[(f"bucket-{i}", "us-east-1") for i in range(20)])
    assert len({origin.bucket for origin in origins}) == 20
    assert len({id(client_of(origin)) for origin in origins}) == 1
    assert client_of(origins[0]).built_on is not threading.main_thread()


def test_only_the_regions_used_last_keep_a_client_and_the_others_are_closed(sources):
    regions = [f"eu-west-{i}" for i in range(1, REGION_CLIENTS + 3)]
    origins = bucket_origins(sources, *[("photos", region) for region in regions])
    clients = [client_of(origin) for origin in origins]
    assert [client.closed for client in clients] == [True, True] + [False] * REGION_CLIENTS
    [again] = bucket_origins(sources, ("photos", regions[0]))
    assert client_of(again) is not clients[0] and not client_of(again).closed
