"""Properties of the lexicon, actor and topic-mask data files.

These tests read the CSVs directly, so they hold whatever the matcher does: the
columns are the binding format, every regex compiles, the documented
disambiguation rules drop and keep the right contexts, and the README states
the current version (first 12 hex digits of each file's sha256).
"""

import csv
import hashlib
import os
import re
import unicodedata
from pathlib import Path

import pytest
import vaderSentiment

ROOT = Path(__file__).resolve().parents[1]
LEXICON_DIR = ROOT / "analysis" / "lexicons"
DATA_DIR = ROOT / "analysis" / "data"
README = LEXICON_DIR / "README.md"

LEXICON_COLUMNS = [
    "term", "category", "kind", "case_sensitive", "forms",
    "exclude_before", "exclude_after", "source", "note",
]
ACTOR_COLUMNS = ["actor", "alias", "kind", "source", "note", "requires", "excludes"]
MASK_COLUMNS = ["word", "reason", "vader_valence", "source"]
LEXICON_FILES = sorted(LEXICON_DIR.glob("*.csv"))
DATA_FILES = [DATA_DIR / "actors.csv", DATA_DIR / "topic_mask_suggested.csv", DATA_DIR / "topic_mask.csv"]


def read(path):
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return reader.fieldnames, list(reader)


def rows(name):
    return read(LEXICON_DIR / f"{name}.csv")[1]


def fold(text):
    """Accent-fold and lower-case, as the matcher does before matching."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def surfaces(row):
    """The term and its extra forms, hyphens read as spaces (the matcher treats them alike)."""
    forms = [row["term"]] + [f for f in row["forms"].split("|") if f]
    return [f.replace("-", " ") for f in forms]


def kept(row, text, start, end):
    """Apply a row's exclusions to a match at text[start:end] (documented semantics)."""
    folded = fold(text)
    if row["exclude_before"] and re.search(row["exclude_before"], folded[:start], re.IGNORECASE):
        return False
    return not (row["exclude_after"] and re.match(row["exclude_after"], folded[end:], re.IGNORECASE))


def term_hits(row, text):
    """Whole-word matches of a literal row's surfaces that survive its exclusions."""
    folded = fold(text)
    hits = []
    for surface in surfaces(row):
        words = [re.escape(w) for w in surface.split()]
        pattern = r"(?<!\w)" + r"[\s\-\u2013]+".join(words) + r"(?!\w)"
        flags = 0 if row["case_sensitive"] == "1" else re.IGNORECASE
        source = text if row["case_sensitive"] == "1" else folded
        hits += [m.group(0) for m in re.finditer(pattern, source, flags) if kept(row, text, m.start(), m.end())]
    return hits


def row_by_term(name, term):
    matches = [r for r in rows(name) if r["term"] == term]
    assert len(matches) == 1, f"{term!r} should appear once in {name}.csv"
    return matches[0]


def all_surfaces(name):
    return {s for r in rows(name) if r["kind"] == "term" for s in surfaces(r)}


def test_the_four_required_lexicons_exist():
    assert {p.stem for p in LEXICON_FILES} >= {"loaded", "hedges", "boosters", "attribution"}


@pytest.mark.parametrize("path", LEXICON_FILES, ids=lambda p: p.name)
def test_lexicon_has_exactly_the_binding_columns(path):
    assert read(path)[0] == LEXICON_COLUMNS


@pytest.mark.parametrize("path", LEXICON_FILES, ids=lambda p: p.name)
def test_lexicon_rows_are_well_formed(path):
    for row in read(path)[1]:
        assert row["term"] and row["category"] and row["source"], row
        assert row["kind"] in {"term", "pattern"}, row
        assert row["case_sensitive"] in {"0", "1"}, row
        if row["source"].startswith("curated"):
            assert row["note"].strip(), f"curated row without a rationale: {row['term']!r}"
        if row["kind"] == "term":
            for surface in [row["term"]] + [f for f in row["forms"].split("|") if f]:
                assert surface == surface.strip() and "  " not in surface, surface
                if row["case_sensitive"] == "0":
                    assert surface == surface.lower(), surface


@pytest.mark.parametrize("path", LEXICON_FILES, ids=lambda p: p.name)
def test_no_term_or_surface_form_is_listed_twice_in_a_lexicon(path):
    seen = {}
    for row in read(path)[1]:
        if row["kind"] != "term":
            continue
        for surface in surfaces(row):
            assert surface not in seen, f"{surface!r} in {row['category']} and {seen[surface]}"
            seen[surface] = row["category"]


@pytest.mark.parametrize("path", LEXICON_FILES, ids=lambda p: p.name)
def test_every_pattern_and_exclusion_compiles(path):
    for row in read(path)[1]:
        if row["kind"] == "pattern":
            re.compile(row["term"])
        for column in ("exclude_before", "exclude_after"):
            if row[column]:
                re.compile(row[column])
        if row["exclude_before"]:
            assert row["exclude_before"].endswith("$"), "exclude_before must be anchored at the end"
        if row["exclude_after"]:
            assert row["exclude_after"].startswith("^"), "exclude_after must be anchored at the start"


def test_every_source_key_is_defined_in_the_readme():
    readme = README.read_text(encoding="utf-8")
    defined = set(re.findall(r"^\|\s*`([a-z0-9_]+)`\s*\|", readme, re.MULTILINE))
    used = {r["source"] for p in LEXICON_FILES for r in read(p)[1]}
    used |= {r["source"] for p in DATA_FILES for r in read(p)[1]}
    assert used <= defined, used - defined


def test_readme_states_the_current_version_of_every_data_file():
    readme = README.read_text(encoding="utf-8")
    stated = dict(re.findall(r"\|\s*`([\w/]+\.csv)`\s*\|\s*`([0-9a-f]{12})`\s*\|", readme))
    for path in LEXICON_FILES + DATA_FILES:
        rel = path.relative_to(ROOT).as_posix()
        assert stated.get(rel) == hashlib.sha256(path.read_bytes()).hexdigest()[:12], (
            f"README version of {rel} is stale: recompute sha256[:12] and update it"
        )


def test_loaded_has_the_four_framing_categories():
    categories = {r["category"] for r in rows("loaded")}
    assert {"actor_label", "ideological", "conflict_threat", "evaluative_emotive"} <= categories


def test_loaded_lists_the_story_terms_from_the_seeds():
    loaded = all_surfaces("loaded")
    for word in ["regime", "dictator", "strongman", "madman", "coup plotters", "mutinous", "renegade",
                 "imperialist", "bourgeoisie", "boliburgesia", "working class", "crackdown", "bombshell",
                 "invasion", "torture", "meddling", "hypocrisy", "unsavory", "desperate", "corrupt",
                 "infamous", "craziness"]:
        assert word in loaded, word


def test_loaded_prunes_topic_words():
    loaded = all_surfaces("loaded")
    for topic in ["crisis", "attack", "war", "government", "military", "election", "police", "coup", "officials"]:
        assert topic not in loaded, topic


def approximators():
    patterns = [r["term"] for r in rows("hedges") if r["category"] == "approximator" and r["kind"] == "pattern"]
    assert patterns
    return [re.compile(p, re.IGNORECASE) for p in patterns]


@pytest.mark.parametrize("text", [
    "from a high of about 300 to 400 last year",
    "to about half that after a crackdown",
    "the 150 or so comrades who have been detained",
    "some 2,000 soldiers",
    "nearly a third of the officers",
])
def test_approximator_matches_a_hedged_quantity(text):
    assert any(p.search(fold(text)) for p in approximators()), text


@pytest.mark.parametrize("text", [
    "which declined to answer detailed questions about the talks",
    "the region's nearly united stance against him",
    "around the world",
])
def test_approximator_leaves_about_without_a_quantity(text):
    assert not any(p.search(fold(text)) for p in approximators()), text


@pytest.mark.parametrize("text, expected", [
    ("Finally, the dissidents looked to the May 20 election, during which Mr. Maduro was re-elected", []),
    ("a plot to disrupt the May 20 presidential election", []),
    ("They later planned to take power in May.", []),
    ("the coup could backfire and it may backfire politically", ["may"]),
    ("no matter how unsavory they may be", ["may"]),
])
def test_the_may_entry_drops_months_and_keeps_the_modal(text, expected):
    assert term_hits(row_by_term("hedges", "may"), text) == expected


def test_might_as_a_noun_is_not_a_hedge():
    assert term_hits(row_by_term("hedges", "might"), "a show of military might") == []
    assert term_hits(row_by_term("hedges", "might"), "the meeting might be a ploy") == ["might"]


def test_hedges_and_boosters_hold_no_attribution():
    hedges, boosters = all_surfaces("hedges"), all_surfaces("boosters")
    for evidential in ["according to", "said", "says", "told", "reportedly said"]:
        assert evidential not in hedges, evidential
        assert evidential not in boosters, evidential
    assert "would" not in hedges, "'would' is documented as not a hedge in news"


def test_according_to_is_an_evidential_in_attribution():
    assert row_by_term("attribution", "according to")["category"] == "evidential"


def test_attribution_anonymous_source_formulas_match_seed_passages():
    anonymous = [r for r in rows("attribution") if r["category"] == "anonymous_source"]
    for text in [
        "speaking on condition of anonymity out of fear of reprisals",
        "who spoke on the condition of anonymity to discuss foreign policy",
        "according to a person familiar with meetings",
        "said a senior administration official who was not authorized to speak about the secret talks",
    ]:
        hits = [h for r in anonymous if r["kind"] == "term" for h in term_hits(r, text)]
        hits += [m.group(0) for r in anonymous if r["kind"] == "pattern"
                 for m in re.finditer(r["term"], fold(text), re.IGNORECASE)]
        assert hits, text


def test_claim_responsibility_is_not_a_loaded_attribution():
    claimed = row_by_term("attribution", "claimed")
    assert term_hits(claimed, "No group claimed responsibility for the drones") == []
    assert term_hits(claimed, "Maduro officials claimed the drones were sent by conspirators") == ["claimed"]


def test_actors_file_has_the_documented_columns_and_kinds():
    columns, actor_rows = read(DATA_DIR / "actors.csv")
    assert columns == ACTOR_COLUMNS
    assert {r["actor"] for r in actor_rows} == {
        "maduro_government", "us_government", "plotting_officers", "venezuelan_opposition"}
    for row in actor_rows:
        assert row["alias"] and row["source"] and row["note"], row
        assert row["kind"] in {"name", "label"}, row
        assert row["alias"] == row["alias"].lower(), row
        for column in ("requires", "excludes"):
            if row[column]:
                re.compile(row[column])
    aliases = [r["alias"] for r in actor_rows]
    assert len(aliases) == len(set(aliases)), "an alias names two actors"


def actor_row(alias):
    return next(r for r in read(DATA_DIR / "actors.csv")[1] if r["alias"] == alias)


def label_counts(row, sentence):
    """A generic label counts when its requires rule matches the sentence and its excludes rule does not."""
    folded = fold(sentence)
    if row["requires"] and not re.search(row["requires"], folded):
        return False
    return not (row["excludes"] and re.search(row["excludes"], folded))


def test_regime_counts_for_maduro_only_in_a_venezuela_sentence():
    regime = actor_row("the regime")
    assert label_counts(regime, "the concerns of Venezuelans from all walks of life - the millions of "
                                "citizens forced by the regime to flee abroad")
    assert not label_counts(regime, "for turning a blind eye to the abuses military regimes committed "
                                    "during the Cold War")
    assert not label_counts(regime, "which upended US plans for regime change in that country")


def test_dictator_is_not_a_label_for_maduro_in_the_pinochet_history():
    dictator = actor_row("dictator")
    assert label_counts(dictator, "Trump has denounced Maduro as a dictator.")
    assert not label_counts(dictator, "which led to the long military dictatorship of Augusto Pinochet "
                                      "and a dictator's rule")


def vader_lexicon():
    path = os.path.join(os.path.dirname(vaderSentiment.__file__), "vader_lexicon.txt")
    with open(path, encoding="utf-8") as fh:
        return dict(line.split("\t")[:2] for line in fh if "\t" in line)


def test_topic_mask_valences_are_vaders():
    columns, mask = read(DATA_DIR / "topic_mask_suggested.csv")
    assert columns == MASK_COLUMNS and mask
    lexicon = vader_lexicon()
    for row in mask:
        assert row["word"] in lexicon, f"{row['word']!r} is not in VADER's lexicon"
        assert float(row["vader_valence"]) == float(lexicon[row["word"]]), row["word"]
        assert row["reason"] and row["source"], row


def test_default_topic_mask_is_empty():
    columns, mask = read(DATA_DIR / "topic_mask.csv")
    assert columns == MASK_COLUMNS and mask == []


def test_vader_facts_stated_in_the_readme_hold():
    lexicon = vader_lexicon()
    for word in ["coup", "regime", "dictator"]:
        assert word not in lexicon, word
    assert float(lexicon["strongman"]) > 0
