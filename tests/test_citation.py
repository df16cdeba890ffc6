"""The project can be cited: CITATION.cff is valid CFF 1.2.0, the figures have BibTeX entries that
follow the catalog, and every reference a write-up uses is in its bibliography."""

from __future__ import annotations

import json
from pathlib import Path

import bibtexparser
import jsonschema
import pytest
import yaml

from analysis import figures, writeup
from analysis.provenance import __version__

PROJECT = Path(__file__).resolve().parent.parent
SCHEMA = PROJECT / "docs" / "schemas" / "citation-cff-1.2.0.schema.json"


def _parse_bib(path: Path):
    library = bibtexparser.parse_string(path.read_text(encoding="utf-8"))
    assert library.failed_blocks == [], [b.error for b in library.failed_blocks]
    keys = [entry.key for entry in library.entries]
    assert len(keys) == len(set(keys)), "duplicate keys"
    return library


def test_citation_cff_is_valid_cff_1_2_0():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$id"] == "https://citation-file-format.github.io/1.2.0/schema"
    citation = yaml.safe_load((PROJECT / "CITATION.cff").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    assert [error.message for error in validator.iter_errors(citation)] == []
    assert citation["authors"] == [{"name": "framing-lens contributors"}]
    assert citation["license"] == "GPL-3.0-or-later"


def test_the_schema_rejects_what_cff_forbids():
    """The validation has teeth: no authors, or a licence that is not an SPDX id, fails."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    bad = {"cff-version": "1.2.0", "message": "m", "title": "t", "authors": [], "license": "GPL-3"}
    messages = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(bad)]
    assert len(messages) == 2


def test_citation_version_is_the_package_version():
    citation = yaml.safe_load((PROJECT / "CITATION.cff").read_text(encoding="utf-8"))
    assert str(citation["version"]) == __version__


def test_figures_bib_has_one_entry_per_catalog_figure_sorted_by_id():
    catalog = figures.read_catalog(PROJECT / "figures" / "catalog.csv")
    library = _parse_bib(PROJECT / "figures" / "figures.bib")
    keys = [entry.key for entry in library.entries]
    assert keys == sorted(catalog["figure_id"])
    row = catalog.set_index("figure_id").loc["contrast-socialist-mainstream-loaded-rates"]
    fields = {f.key: f.value for f in library.entries[keys.index("contrast-socialist-mainstream-loaded-rates")].fields}
    assert fields["version"] == row["package_version"] and fields["codehash"] == row["code_hash"]
    assert fields["corpushash"] == row["corpus_hash"] and fields["datasha256"] == row["data_sha256"]
    versions = json.loads(row["lexicon_versions"])
    assert fields["lexiconversions"] == ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
    assert not {"year", "date", "commit"} & set(fields)


def test_figures_bib_is_regenerated_byte_identical_with_the_catalog(tmp_path):
    catalog = figures.read_catalog(PROJECT / "figures" / "catalog.csv")
    figures.write_bib(catalog, tmp_path / "figures.bib")
    assert (tmp_path / "figures.bib").read_bytes() == (PROJECT / "figures" / "figures.bib").read_bytes()


def test_references_bib_parses_and_holds_the_works_the_project_cites():
    library = _parse_bib(PROJECT / "writeups" / "references.bib")
    keys = {entry.key for entry in library.entries}
    assert {"hutto2014", "monroe2008", "hyland2005", "recasens2013", "wilson2005", "okabe2008", "efron1993",
            "benjamini1995", "wilson1927", "brown2001", "rule2019"} <= keys
    for entry in library.entries:
        fields = {f.key for f in entry.fields}
        assert {"author", "title", "year"} <= fields, entry.key


@pytest.mark.parametrize("path", sorted((PROJECT / "writeups").glob("*.md")), ids=lambda p: p.stem)
def test_every_citation_key_a_write_up_uses_is_in_its_bibliography(path):
    note = writeup.load(path)
    library = _parse_bib(path.parent / note.meta["bibliography"])
    keys = {entry.key for entry in library.entries}
    used = writeup.citation_keys(note.body)
    assert used and set(used) <= keys, sorted(set(used) - keys)
