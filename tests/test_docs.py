"""Generated docs: current with params/spec.py and the settings, and complete."""

from __future__ import annotations

import dataclasses
import shutil
import tomllib
from pathlib import Path

import pytest

from imgproxy.config import Settings
from imgproxy.config_loader import build_settings
from imgproxy.docs import BEGIN, END, generate, splice, stale
from imgproxy.docs.__main__ import main
from imgproxy.docs.markdown import cell
from imgproxy.docs.parameters import REFERENCE, parameter_table
from imgproxy.docs.settings import config_markdown, config_toml, sections, toml_value
from imgproxy.params.spec import PARAMS

ROOT = Path(__file__).resolve().parent.parent
GENERATED = sorted(generate(ROOT))


@dataclasses.dataclass(frozen=True)
class Undocumented:
    level: int = 1


@dataclasses.dataclass(frozen=True)
class Model:
    extra: Undocumented = dataclasses.field(
        default_factory=Undocumented, metadata={"doc": "A section."}
    )


@pytest.mark.parametrize("path", GENERATED)
def test_the_generated_file_is_up_to_date(path):
    expected = generate(ROOT)[path]
    assert (ROOT / path).read_text() == expected, f"{path} is out of date: run `make docs`"


def test_the_generated_default_config_is_the_built_in_defaults():
    assert build_settings(tomllib.loads(config_toml())) == Settings()


def test_the_reference_table_has_a_row_per_parameter_with_its_twins():
    rows = parameter_table(REFERENCE).splitlines()[2:]
    assert [row.split(" | ")[0] for row in rows] == [f"| `{p.name}`" for p in PARAMS]
    width = next(row for row in rows if row.startswith("| `width`"))
    assert "`width64`, `w64`" in width and "integer >= 1" in width


def test_every_setting_is_documented_with_its_environment_variable():
    text = config_markdown()
    for section in sections():
        assert f"## [{section.name}]" in text
        for setting in section.settings:
            assert f"| `{setting.key}` |" in text and f"`{setting.env}`" in text
            assert setting.doc.endswith(".")


def test_a_setting_without_a_doc_stops_the_generator():
    with pytest.raises(ValueError, match=r"\[extra\] level has no doc"):
        sections(Model)


@pytest.mark.parametrize(
    "value",
    ["plain", 'quote " and \\ backslash', "tab\tand é", 0, 1.5, True, (), ("a", "b"), {"X-A": "b"}],
)
def test_toml_values_read_back_as_written(value):
    read = tomllib.loads(f"key = {toml_value(value)}")["key"]
    assert read == (list(value) if isinstance(value, tuple) else value)


def test_cells_escape_pipes_and_tags_but_not_code():
    assert cell("top|left or <id>") == "top\\|left or &lt;id>"
    assert cell("`GET /jobs/<id>` and 1 < 2") == "`GET /jobs/<id>` and 1 < 2"


def test_a_file_without_markers_is_named(tmp_path):
    (tmp_path / "README.md").write_text("# no table here\n")
    with pytest.raises(ValueError, match=r"README\.md"):
        splice(tmp_path, "README.md", "| a |")


def test_splicing_keeps_the_hand_written_text_around_the_markers(tmp_path):
    (tmp_path / "page.md").write_text(f"before\n{BEGIN}\nold rows\n{END}\nafter\n")
    assert splice(tmp_path, "page.md", "new rows") == f"before\n{BEGIN}\nnew rows\n{END}\nafter\n"


def test_make_docs_rewrites_a_stale_file_and_check_then_passes(tmp_path, capsys):
    for path in GENERATED:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, tmp_path / path)
    (tmp_path / "docs/config.md").write_text("edited by hand\n")
    assert main(["--check", "--root", str(tmp_path)]) == 1
    assert "docs/config.md is out of date" in capsys.readouterr().err
    assert main(["--root", str(tmp_path)]) == 0
    assert stale(tmp_path, generate(tmp_path)) == []
    assert main(["--check", "--root", str(tmp_path)]) == 0
