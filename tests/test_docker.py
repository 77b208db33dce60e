"""The Docker image's recipe agrees with the Makefile; `make docker` says why it cannot build."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
MAKE = shutil.which("make")
needs_make = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def make_list(name: str) -> list[str]:
    line = re.search(rf"^{name} := (.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert line is not None, name
    return line.group(1).split()


def test_the_image_installs_the_font_packages_and_none_for_tests():
    installed = re.search(r"apt-get install -y --no-install-recommends \\\n\s+(.*)", DOCKERFILE)
    assert installed is not None
    packages = installed.group(1).split()
    assert set(make_list("FONT_PACKAGES")) <= set(packages)
    assert not {"redis-server", "chromium"} & set(packages)


def test_everything_the_image_copies_from_the_build_context_is_in_it():
    allowed = {
        line[1:] for line in (ROOT / ".dockerignore").read_text().splitlines() if line[:1] == "!"
    }
    copied = [
        source
        for line in DOCKERFILE.splitlines()
        if line.startswith("COPY ") and not line.startswith("COPY --from=")
        for source in line.split()[1:-1]
    ]
    assert copied and set(copied) <= allowed


def run_make_docker(path: str) -> subprocess.CompletedProcess[str]:
    """`make docker` with only `path` to find commands in."""
    return subprocess.run(
        [str(MAKE), "-s", "docker"],
        cwd=ROOT,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
    )


@needs_make
def test_make_docker_says_when_docker_is_not_installed(tmp_path):
    done = run_make_docker(str(tmp_path))
    assert done.returncode != 0 and "the docker command is not installed" in done.stderr


@needs_make
def test_make_docker_says_when_no_engine_answers(tmp_path):
    docker = tmp_path / "docker"
    docker.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    docker.chmod(0o755)
    done = run_make_docker(f"{tmp_path}:/usr/bin:/bin")
    assert done.returncode != 0 and "no Docker engine answers here" in done.stderr
