"""Generated documentation: what `make docs` writes, from params/spec.py and the settings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from imgproxy.docs.parameters import REFERENCE, SUMMARY, parameter_table
from imgproxy.docs.settings import config_markdown, config_toml

BEGIN = "<!-- begin generated parameter table: edit imgproxy/params/spec.py, run `make docs` -->"
END = "<!-- end generated parameter table -->"


def generate(root: Path) -> dict[str, str]:
    """Every generated file, by path under `root`, as `make docs` writes it."""
    return {
        "README.md": splice(root, "README.md", parameter_table(SUMMARY)),
        "docs/parameters.md": splice(root, "docs/parameters.md", parameter_table(REFERENCE)),
        "docs/config.md": config_markdown(),
        "config/imgproxy.toml": config_toml(),
    }


def splice(root: Path, path: str, content: str) -> str:
    """The hand-written file at `path` with `content` between its BEGIN and END markers."""
    text = (root / path).read_text()
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise ValueError(f"{path}: the generated table needs the lines {BEGIN} and {END}")
    return f"{head}{BEGIN}\n{content}\n{END}{tail}"


def stale(root: Path, files: Mapping[str, str]) -> list[str]:
    """The paths of `files` whose file under `root` differs from the text given for it."""
    return [path for path, text in files.items() if _read(root / path) != text]


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None
