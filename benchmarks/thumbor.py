"""thumbor 7 in a virtual environment of its own, with a file loader over the same originals."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import AbstractContextManager
from pathlib import Path

from benchmarks.servers import Server, running

VENV = Path(__file__).parent / ".thumbor-venv"
REQUIREMENT = "thumbor[opencv]>=7,<8"


def check_tools() -> None:
    """thumbor will not start without gifsicle on the PATH: said before the run, not after."""
    if shutil.which("gifsicle") is None:
        raise SystemExit("benchmarks: gifsicle is missing; make system installs it")


def install() -> Path:
    """thumbor's executable, installed on first use (face detection needs its OpenCV extra)."""
    executable = VENV / "bin" / "thumbor"
    if not executable.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, REQUIREMENT], check=True)
    return executable


def config(root: Path, threads: int) -> str:
    """thumbor's best settings for this work: no storage, gifsicle for animations, faces by
    OpenCV, the same qualities as the imgproxy cases."""
    return "\n".join(
        [
            "LOADER = 'thumbor.loaders.file_loader'",
            f"FILE_LOADER_ROOT_PATH = {str(root)!r}",
            "STORAGE = 'thumbor.storages.no_storage'",
            "RESULT_STORAGE = None",
            "ALLOW_UNSAFE_URL = True",
            "USE_GIFSICLE_ENGINE = True",
            "ALLOW_ANIMATED_GIFS = True",
            "DETECTORS = ['thumbor.detectors.face_detector']",
            "QUALITY = 80",
            "WEBP_QUALITY = 80",
            "MAX_AGE = 0",
            f"ENGINE_THREADPOOL_SIZE = {threads}",
        ]
    )


def thumbor(root: Path, port: int, processes: int, threads: int) -> AbstractContextManager[Server]:
    """`processes` forked servers, each with an engine pool of `threads` (0: on the loop)."""
    executable = install()
    conf = root / f"thumbor-{processes}x{threads}.conf"
    conf.write_text(config(root, threads))
    command = [str(executable), "-c", str(conf), "-p", str(port), "-i", "127.0.0.1"]
    command += ["--processes", str(processes), "-l", "error"]
    env = {"PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    return running(f"thumbor {processes}p x {threads}t", command, port, "/healthcheck", env)
