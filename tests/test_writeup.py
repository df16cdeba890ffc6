"""Write-ups cite figures by id and numbers by reference; a change in the data behind a citation is
caught by the lock, and the rendered note is what the sources give, byte for byte."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis import writeup
from analysis.cli import main
from analysis.writeup import select

PROJECT = Path(__file__).resolve().parent.parent
NOTE = PROJECT / "writeups" / "seed-framing.md"


@pytest.fixture(scope="module")
def resolved():
    return writeup.resolve(writeup.load(NOTE))


@pytest.fixture
def project_copy(tmp_path):
    """results/, figures/ (without images) and writeups/ in a temporary project, to edit freely."""
    shutil.copytree(PROJECT / "results", tmp_path / "results")
    shutil.copytree(PROJECT / "figures", tmp_path / "figures", ignore=shutil.ignore_patterns("*.png", "*.svg"))
    shutil.copytree(PROJECT / "writeups", tmp_path / "writeups", ignore=shutil.ignore_patterns("rendered"))
    return tmp_path


WSWS_LOADED_OWN = {"unit_type": "outlet", "unit": "World Socialist Web Site", "measure": "rate_per_1k",
                   "lexicon": "loaded", "category": "all", "voice": "own", "section": "all"}


def _edit_csv(path: Path, where: dict, column: str, value: str) -> None:
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = pd.Series(True, index=table.index)
    for key, wanted in where.items():
        rows &= table[key] == wanted
    assert rows.sum() == 1
    table.loc[rows, column] = value
    table.to_csv(path, index=False, lineterminator="\n")


def _note_with(tmp_path: Path, body: str, numbers: str = "") -> Path:
    """A small write-up in a copy of the project, citing what body and numbers say."""
    path = tmp_path / "writeups" / "probe.md"
    path.write_text(f"---\ntitle: probe\nbibliography: references.bib\nnumbers:\n{numbers}---\n{body}\n",
                    encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the worked write-up


def test_every_figure_number_table_and_citation_of_the_worked_note_resolves(resolved):
    assert resolved.errors == []
    assert len(resolved.figures) >= 4
    assert {"wsws-loaded-own", "mainstream-loaded-own", "ideological-p", "province-dictator-quoted"} <= set(
        resolved.numbers)
    assert set(resolved.tables) == {"loaded-by-voice", "loaded-precision"}


def test_the_worked_note_is_as_locked():
    assert writeup.check(NOTE) == []
    assert main(["writeup", "--check"]) == 0


def test_dictator_in_the_province_is_only_quoted_speech(resolved):
    """The note's claim, read from the matches table it cites."""
    assert resolved.numbers["province-dictator-own"]["value"] == "0"
    assert int(resolved.numbers["province-dictator-quoted"]["value"]) >= 1
    assert resolved.numbers["globalnews-regime-own"]["value"] == "0"
    assert "White House" in resolved.numbers["province-statement"]["value"]


def test_the_prose_types_no_number():
    """Every number of the text comes from a table: apart from years and the unit of the rates
    ("per 1,000 words"), no digit outside a reference."""
    body = writeup.load(NOTE).body
    prose = writeup.TOKEN.sub("", body).replace("per 1,000 words", "")
    prose = re.sub(r"\[?@[\w:-]+[^\]\s]*\]?", "", prose)
    digits = [d for d in re.findall(r"[0-9][0-9.,]*", prose) if not re.fullmatch(r"(19|20)[0-9]{2}", d)]
    assert digits == []


def test_the_rendered_note_is_what_the_sources_give_byte_for_byte(tmp_path):
    files = writeup.render(NOTE, out_dir=tmp_path)
    names = sorted(f.name for f in files)
    assert names == ["seed-framing-table-1.tex", "seed-framing-table-2.tex", "seed-framing.html", "seed-framing.pdf"]
    stale = [name for name in names if (tmp_path / name).read_bytes() != (PROJECT / "writeups" / "rendered" /
                                                                          name).read_bytes()]
    assert stale == [], "re-run `python -m analysis writeup` (or `make figures`) and commit writeups/rendered/"
    html = (tmp_path / "seed-framing.html").read_text(encoding="utf-8")
    assert re.findall(r'<img[^>]+src="(?!data:)', html) == []  # one self-contained file
    assert "Figure 7." in html and "Table 2." in html
    row = select(pd.read_csv(PROJECT / "results" / "seeds" / "estimates.csv", dtype=str, keep_default_na=False),
                 WSWS_LOADED_OWN, "estimates")
    interval = writeup.format_interval(float(row.ci_low.iloc[0]), float(row.ci_high.iloc[0]), 1)
    assert f"{float(row.value.iloc[0]):.1f} per 1,000 words (95% CI {interval})" in html
    assert not re.search(r"/(tmp|work|home|root)/", html)
    tex = (tmp_path / "seed-framing-table-1.tex").read_text(encoding="utf-8")
    assert "\\toprule" in tex and "World Socialist Web Site" in tex and "\\label{tab:loaded-by-voice}" in tex


# --------------------------------------------------------------------------- staleness


def test_check_names_a_changed_figure_and_a_moved_number_with_old_and_new_values(project_copy):
    note = project_copy / "writeups" / "seed-framing.md"
    assert writeup.check(note) == []
    _edit_csv(project_copy / "results" / "seeds" / "estimates.csv",
              {"unit_type": "outlet", "unit": "World Socialist Web Site", "measure": "rate_per_1k", "lexicon": "loaded",
               "category": "all", "voice": "own", "section": "all"}, "value", "30.04")
    _edit_csv(project_copy / "figures" / "contrast-socialist-mainstream-loaded-rates.csv",
              {"unit": "mainstream", "category": "all"}, "value", "12.0")
    problems = "\n".join(writeup.check(note))
    locked = json.loads((project_copy / "writeups" / "seed-framing.lock.json").read_text())["numbers"]
    was = locked["wsws-loaded-own"]["value"]
    now = "30.0" + was[was.index(" per 1,000"):]
    assert "number wsws-loaded-own" in problems and f"was '{was}', now '{now}'" in problems
    assert re.search(r"figure contrast-socialist-mainstream-loaded-rates: its data changed: data sha256 "
                     r"[0-9a-f]{12} -> [0-9a-f]{12}", problems)
    was_mainstream = locked["mainstream-loaded-own"]["value"]
    assert f"was '{was_mainstream}', now '12.0 per 1,000 words" in problems
    interval = was[was.index("CI ") + 3:-1]
    assert "table loaded-by-voice" in problems and f"'{was[:4]} ({interval})' -> '30.0 ({interval})'" in problems


def test_check_names_a_figure_that_is_gone(project_copy):
    note = project_copy / "writeups" / "seed-framing.md"
    catalog = project_copy / "figures" / "catalog.csv"
    table = pd.read_csv(catalog, dtype=str, keep_default_na=False)
    table[table["figure_id"] != "profile-wsws-loaded-by-voice"].to_csv(catalog, index=False, lineterminator="\n")
    problems = "\n".join(writeup.check(note))
    assert re.search(r"figure profile-wsws-loaded-by-voice is gone \(locked: data sha256 [0-9a-f]{12}\): "
                     r"figure 'profile-wsws-loaded-by-voice' is not in figures/catalog.csv", problems)


def test_cli_check_fails_and_lock_accepts_after_a_change(project_copy, capsys):
    note = project_copy / "writeups" / "seed-framing.md"
    _edit_csv(project_copy / "results" / "seeds" / "matches.csv",
              {"doc_id": "001", "term": "dictator"}, "voice", "own")
    problems = writeup.check(note)
    assert any(p.startswith("number province-dictator-own") and "was '0', now '1'" in p for p in problems)
    writeup.lock(note)
    assert writeup.check(note) == []
    locked = json.loads(note.with_name("seed-framing.lock.json").read_text(encoding="utf-8"))
    assert locked["numbers"]["province-dictator-own"]["value"] == "1"


def test_a_changed_row_that_renders_the_same_is_still_named(project_copy):
    note = project_copy / "writeups" / "seed-framing.md"
    _edit_csv(project_copy / "results" / "seeds" / "estimates.csv",
              {"unit_type": "outlet", "unit": "World Socialist Web Site", "measure": "rate_per_1k", "lexicon": "loaded",
               "category": "all", "voice": "own", "section": "all"}, "value", "24.70001")
    problems = writeup.check(note)
    assert any("wsws-loaded-own" in p and "rows changed" in p and "unchanged" in p for p in problems)


# --------------------------------------------------------------------------- unknown references


def test_an_unknown_figure_id_lists_near_matches(project_copy):
    note = _note_with(project_copy, "![](fig:contrast-socialist-mainstream-loaded-rate)")
    with pytest.raises(writeup.WriteupError, match="did you mean 'contrast-socialist-mainstream-loaded-rates'"):
        writeup.to_markdown(writeup.load(note), writeup.resolve(writeup.load(note)))


def test_a_reference_to_a_figure_not_shown_is_an_error(project_copy):
    errors = writeup.resolve(writeup.load(_note_with(project_copy, "See @fig:overview-cleaning."))).errors
    assert errors and "does not show" in errors[0]


def test_an_unknown_value_lists_near_values(project_copy):
    numbers = ("  x:\n    from: estimates\n    where: {unit_type: outlet, unit: World Socialist Website}\n"
               "    show: rate\n")
    errors = writeup.resolve(writeup.load(_note_with(project_copy, "{{x}}", numbers))).errors
    assert errors and "unit has no value 'World Socialist Website'" in errors[0]
    assert "did you mean 'World Socialist Web Site'" in errors[0]


def test_an_ambiguous_selection_names_the_columns_that_differ(project_copy):
    numbers = ("  x:\n    from: estimates\n    where: {unit_type: outlet, unit: World Socialist Web Site, "
               "measure: rate_per_1k, lexicon: loaded, category: all, section: all}\n    show: rate\n")
    errors = writeup.resolve(writeup.load(_note_with(project_copy, "{{x}}", numbers))).errors
    assert errors and "selects 4 rows, not one; the rows differ in" in errors[0] and "voice" in errors[0]


def test_undeclared_numbers_and_unknown_citations_are_errors(project_copy):
    errors = writeup.resolve(writeup.load(_note_with(project_copy, "{{wsws-rate}} [@hutto2015]"))).errors
    assert any("not declared under `numbers:`" in e for e in errors)
    assert any("citation @hutto2015" in e and "did you mean 'hutto2014'" in e for e in errors)


def test_an_unknown_write_up_name_lists_near_matches():
    with pytest.raises(writeup.WriteupError, match="did you mean 'seed-framing'"):
        writeup.find_writeups(PROJECT / "writeups", "seed-framng")


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(("spec", "row", "expected"), [
    ({"show": "rate"}, {"value": "24.69", "ci_low": "14.4", "ci_high": "36.67"},
     "24.7 per 1,000 words (95% CI 14.4\u201336.7)"),
    ({"show": "difference"}, {"difference": "-7.04", "ci_low": "-10.3", "ci_high": "-1.87"},
     "\u22127.0 per 1,000 words (95% CI \u221210.3 to \u22121.9)"),
    ({"show": "p"}, {"p_value": "0.25", "min_p": "0.25"}, "p = 0.25 (smallest possible 0.25)"),
    ({"show": "estimate", "column": "precision", "interval": "95% Wilson interval"},
     {"precision": "0.6364", "ci_low": "0.354", "ci_high": "0.851"}, "0.64 (95% Wilson interval 0.35\u20130.85)"),
    ({"column": "n_words"}, {"n_words": "2586.0"}, "2,586"),
    ({"column": "text"}, {"text": "as a \u201cdictator.\u201d"}, "as a \u201cdictator.\u201d"),
])
def test_numbers_are_shown_with_unit_and_interval(spec, row, expected):
    assert writeup.format_rows(pd.DataFrame([row]), spec, "test") == expected


def test_a_count_of_no_rows_is_zero_and_an_absent_value_may_say_so():
    rows = pd.DataFrame(columns=["term", "valence"])
    assert writeup.format_rows(rows, {"show": "count"}, "test") == "0"
    assert writeup.format_rows(rows, {"column": "valence", "empty": "absent"}, "test") == "absent"
