"""Markdown tables whose cells may hold any text of the parameter and settings docs."""

from __future__ import annotations

import re
from collections.abc import Sequence

# Outside code spans, '<' before a letter would open an HTML tag and hide the text after it.
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def cell(text: str) -> str:
    """`text` safe inside a table cell: '|' escaped everywhere (GFM asks it of code spans too)."""
    parts = text.split("`")
    prose = [part if i % 2 else _TAG_START.sub("&lt;", part) for i, part in enumerate(parts)]
    return "`".join(prose).replace("|", "\\|")


def code(name: str) -> str:
    return f"`{name}`"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GFM table; `rows` hold Markdown already, made safe with `cell`."""
    lines = [_row(header), _row(["---"] * len(header))]
    lines += [_row(row) for row in rows]
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"
