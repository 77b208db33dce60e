"""Font requests of text layers -> the installed free fonts they render with."""

from __future__ import annotations

import pytest
import pyvips

from imgproxy.pipeline import fonts
from imgproxy.pipeline.compose import text_image

BLACK = (0, 0, 0, 255)


def needs(*families: str) -> pytest.MarkDecorator:
    missing = [f for f in families if f.lower() not in fonts.installed_families()]
    return pytest.mark.skipif(bool(missing), reason=f"fonts not installed: {missing}")


def width_in(pango_font: str, text: str = "Hello World") -> int:
    return pyvips.Image.text(text, font=pango_font, dpi=72).width


@pytest.fixture
def no_fonts(monkeypatch):
    """A machine where fontconfig knows none of the candidates."""
    monkeypatch.setattr(fonts, "installed_families", lambda: frozenset())


@pytest.mark.parametrize(
    ("request_text", "family", "styles", "size"),
    [
        ("Arial Bold 20", "arial", ("Bold",), 20),
        ("Times 20", "times", (), 20),
        ("italic", "arial", ("Italic",), 20),
        ("Arial Black", "arial black", ("Heavy",), 20),
        ("Courier New Bold Italic 12", "courier new", ("Bold", "Italic"), 12),
        ("Papyrus 30", "arial", (), 30),
        ("Times 9999", "times", (), fonts.MAX_SIZE),
    ],
)
def test_requests_parse_into_family_styles_and_size(request_text, family, styles, size):
    font = fonts.resolve(request_text)
    assert (font.family, font.styles, font.size) == (fonts.installed(family), styles, size)


@needs("Liberation Sans", "Liberation Serif", "Liberation Mono", "Nimbus Sans", "Z003", "Open Sans")
@pytest.mark.parametrize(
    ("family", "font"),
    [
        ("arial", "Liberation Sans"),
        ("times new roman", "Liberation Serif"),
        ("courier new", "Liberation Mono"),
        ("nimbus sans l", "Nimbus Sans"),
        ("urw chancery l", "Z003"),
        ("open sans", "Open Sans"),
    ],
)
def test_families_map_to_metric_compatible_fonts(family, font):
    assert fonts.font_table()[family] == font


@needs("Liberation Sans", "Liberation Serif")
def test_text_renders_in_the_mapped_font_not_the_fallback():
    arial = text_image("Hello World", "Arial Bold 40", BLACK).width
    times = text_image("Hello World", "Times 40", BLACK).width
    assert arial == width_in("Liberation Sans, Bold 40")
    assert times == width_in("Liberation Serif, 40")
    assert times != width_in(f"{fonts.FALLBACK}, 40") and arial != times


def test_without_the_fonts_every_family_falls_back_and_text_still_renders(no_fonts):
    assert set(fonts.font_table().values()) == {fonts.FALLBACK}
    text = text_image("Hello", "Times 40", BLACK)
    assert text.width == width_in(f"{fonts.FALLBACK}, 40", "Hello")
    assert text[3].max() == 255
