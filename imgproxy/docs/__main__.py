"""`python -m imgproxy.docs [--check]`: write the generated docs, or list the stale ones."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from imgproxy.docs import generate, stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m imgproxy.docs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="list stale files, write nothing")
    parser.add_argument("--root", type=Path, default=Path("."), help="the repository's folder")
    args = parser.parse_args(argv)
    files = generate(args.root)
    outdated = stale(args.root, files)
    if args.check:
        for path in outdated:
            print(f"{path} is out of date: run `make docs`", file=sys.stderr)
        return 1 if outdated else 0
    for path in outdated:
        (args.root / path).write_text(files[path])
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
