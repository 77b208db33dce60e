"""The parameter tables of README.md and docs/parameters.md, from params/spec.py."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from imgproxy.docs.markdown import cell, code, table
from imgproxy.params.decode import BASE64_SUFFIX
from imgproxy.params.spec import PARAMS, Param


def _names(names: Iterable[str]) -> str:
    return ", ".join(code(name) for name in names)


def _either(names: Sequence[str]) -> str:
    """'`a`, `b` or `c`': a parameter needs any one of these."""
    if len(names) < 2:
        return _names(names)
    return f"{_names(names[:-1])} or {code(names[-1])}"


COLUMNS: dict[str, Callable[[Param], str]] = {
    "parameter": lambda p: code(p.name),
    "aliases": lambda p: _names(p.aliases),
    "base64 twin": lambda p: _names(f"{n}{BASE64_SUFFIX}" for n in (p.name, *p.aliases)),
    "values": lambda p: cell(p.type.description),
    "default": lambda p: cell(p.default),
    "needs": lambda p: _either(p.requires),
    "what it does": lambda p: cell(p.doc),
}
SUMMARY = ("parameter", "aliases", "values", "default", "needs", "what it does")
REFERENCE = ("parameter", "aliases", "base64 twin", "values", "default", "needs", "what it does")


def parameter_table(columns: Sequence[str]) -> str:
    """One row per parameter of the spec, in its order, with these columns of COLUMNS."""
    return table(columns, [[COLUMNS[column](param) for column in columns] for param in PARAMS])
