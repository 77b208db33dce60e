"""Shared fixtures: rendering a query through the real pipeline."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

import pytest

from imgproxy.params.decode import DecodeOptions, decode
from imgproxy.pipeline.context import Rendered, RenderOptions
from imgproxy.pipeline.run import execute

Render = Callable[..., Rendered]


@pytest.fixture
def render() -> Render:
    """render(data, "width=100&crop=fit", accepts=..., ...) -> Rendered, as the server would."""

    def run(data: bytes, query: str = "", **options: object) -> Rendered:
        plan = decode(parse_qsl(query, keep_blank_values=True), DecodeOptions())
        return execute(plan, data, RenderOptions(**options))  # type: ignore[arg-type]

    return run
