"""Font requests as text layers write them ("Arial Bold 20") -> installed fonts, via fontconfig."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass

DEFAULT_SIZE = 20
DEFAULT_FAMILY = "arial"
FALLBACK = "DejaVu Sans"
MAX_SIZE = 400

# Each family of the reference's font list -> installed free fonts to try, metric-compatible first.
FAMILIES: dict[str, tuple[str, ...]] = {
    "andale mono": ("DejaVu Sans Mono", "Liberation Mono"),
    "arial black": ("Liberation Sans",),
    "arial": ("Liberation Sans", "Arimo", "Nimbus Sans"),
    "bitstream charter": ("Charter", "C059", "DejaVu Serif"),
    "century schoolbook l": ("C059",),
    "comic sans ms": ("Comic Neue", "DejaVu Sans"),
    "costar brown": ("Open Sans", "DejaVu Sans"),
    "courier 10 pitch": ("Nimbus Mono PS", "Liberation Mono"),
    "courier new": ("Liberation Mono", "Cousine", "Nimbus Mono PS"),
    "courier": ("Liberation Mono", "Nimbus Mono PS"),
    "dejavu sans": ("DejaVu Sans",),
    "dejavu serif": ("DejaVu Serif",),
    "dejavu sans mono": ("DejaVu Sans Mono",),
    "georgia": ("Gelasio", "DejaVu Serif"),
    "impact": ("Oswald", "DejaVu Sans"),
    "liberation mono": ("Liberation Mono",),
    "liberation sans narrow": ("Liberation Sans Narrow",),
    "liberation sans": ("Liberation Sans",),
    "liberation serif": ("Liberation Serif",),
    "nimbus mono l": ("Nimbus Mono PS",),
    "nimbus roman no9 l": ("Nimbus Roman",),
    "nimbus sans l": ("Nimbus Sans",),
    "open sans": ("Open Sans",),
    "playfair display": ("Playfair Display", "DejaVu Serif"),
    "redhat display": ("Red Hat Display", "Open Sans", "DejaVu Sans"),
    "spartan": ("Spartan", "Open Sans", "DejaVu Sans"),
    "standard symbols l": ("Standard Symbols PS",),
    "times new roman": ("Liberation Serif", "Tinos", "Nimbus Roman"),
    "times": ("Liberation Serif", "Nimbus Roman"),
    "trebuchet ms": ("Open Sans", "DejaVu Sans"),
    "urw bookman l": ("URW Bookman",),
    "urw chancery l": ("Z003",),
    "urw gothic l": ("URW Gothic",),
    "urw palladio l": ("P052",),
    "utopia": ("Utopia", "P052", "DejaVu Serif"),
    "verdana": ("DejaVu Sans",),
    "webdings": ("Standard Symbols PS", "DejaVu Sans"),
}
# Families whose name carries a weight the replacement font must be asked for.
IMPLIED_STYLES = {"arial black": "Heavy", "impact": "Bold"}
STYLES = {
    "regular": "",
    "normal": "",
    "standard": "",
    "book": "",
    "roman": "",
    "bold": "Bold",
    "italic": "Italic",
    "oblique": "Oblique",
    "light": "Light",
    "medium": "Medium",
    "semibold": "Semi-Bold",
    "demi": "Semi-Bold",
    "extrabold": "Ultra-Bold",
    "black": "Heavy",
    "thin": "Thin",
    "extralight": "Ultra-Light",
    "condensed": "Condensed",
}


@dataclass(frozen=True)
class Font:
    family: str
    styles: tuple[str, ...]
    size: int

    @property
    def pango(self) -> str:
        """A Pango font description; sizes are points, rendered at 72 dpi so 1 pt = 1 px."""
        return " ".join((f"{self.family},", *self.styles, str(self.size)))


def resolve(request: str) -> Font:
    """'Arial Bold 20' -> Font('Liberation Sans', ('Bold',), 20); unknown families fall back."""
    words = request.lower().split()
    size = DEFAULT_SIZE
    if words and re.fullmatch(r"\d{1,4}", words[-1]):
        size = max(1, min(int(words.pop()), MAX_SIZE))
    family, words = _family(words)
    styles = [IMPLIED_STYLES[family]] if family in IMPLIED_STYLES else []
    styles += [STYLES[word] for word in words if STYLES.get(word)]
    return Font(installed(family), tuple(dict.fromkeys(styles)), size)


def _family(words: list[str]) -> tuple[str, list[str]]:
    text = " ".join(words)
    for family in sorted(FAMILIES, key=len, reverse=True):
        if text == family or text.startswith(family + " "):
            return family, text[len(family) :].split()
    known_styles = [word for word in words if word in STYLES]
    return DEFAULT_FAMILY, known_styles


def installed(family: str) -> str:
    """The first installed candidate for `family`, else the fallback."""
    available = installed_families()
    for candidate in FAMILIES.get(family, ()):
        if candidate.lower() in available:
            return candidate
    return FALLBACK


@functools.cache
def installed_families() -> frozenset[str]:
    """Family names fontconfig knows, lower-cased; empty when fc-list is missing."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return frozenset()
    listing = subprocess.run(
        [fc_list, ":", "family"], capture_output=True, text=True, timeout=20, check=False
    ).stdout
    return frozenset(
        name.strip().lower() for line in listing.splitlines() for name in line.split(",")
    )


def font_table() -> dict[str, str]:
    """Every family of the reference -> the font it renders with here."""
    return {family: installed(family) for family in sorted(FAMILIES)}
