"""The validation routine (analysis.spotcheck), claim by claim on the committed seed results.

The sample is stratified, seeded and reproducible; every context is the sentence's own text; the
Wilson interval is the textbook one; the pilot's README table is what score_sheet computes.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import spotcheck
from analysis.spotcheck import (
    coding_sheet,
    read_coding_sheet,
    score_sheet,
    scores_markdown,
    wilson_interval,
    write_coding_sheet,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "seeds"
PILOT = ROOT / "seeds" / "spotcheck"


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(RESULTS / f"{name}.csv", dtype={"doc_id": str}, keep_default_na=False)


@pytest.fixture(scope="module")
def seeds():
    return _read("matches"), _read("sentences"), _read("documents")


@pytest.fixture(scope="module")
def sheet(seeds):
    return coding_sheet(*seeds)


@pytest.fixture(scope="module")
def pilot():
    return read_coding_sheet(PILOT / "coded_pilot_seeds.csv")


def _match_rows(sheet: pd.DataFrame) -> pd.DataFrame:
    return sheet[sheet["row_type"] == "match"]


def _counted(table: pd.DataFrame) -> pd.DataFrame:
    """What the estimates count under dedup="drop_copies": the blog (000) reposts the NYT (002), so only
    its own sections (headline, added lines) stay in."""
    return table[~((table["doc_id"] == "000") & (table["section"] == "body"))]


# --- sampling -------------------------------------------------------------------------------------

def test_no_stratum_holds_more_than_per_stratum_and_small_strata_are_taken_whole(seeds, sheet):
    matches, _, documents = seeds
    strata = _counted(matches).merge(documents[["doc_id", "outlet"]]).groupby(["lexicon", "category", "outlet"]).size()
    drawn = _match_rows(sheet).groupby(["lexicon", "category", "outlet"]).size()
    assert drawn.max() <= 10
    assert drawn.to_dict() == strata.clip(upper=10).to_dict()
    sizes = _match_rows(sheet).groupby(["lexicon", "category", "outlet"])["stratum_size"].first()
    assert sizes.to_dict() == strata.to_dict()


def test_per_stratum_caps_every_stratum(seeds):
    drawn = _match_rows(coding_sheet(*seeds, per_stratum=3)).groupby("stratum").size()
    assert drawn.max() == 3


def test_the_sample_is_deterministic_with_its_seed_and_changes_with_another(seeds, sheet):
    pd.testing.assert_frame_equal(coding_sheet(*seeds), sheet)
    other = coding_sheet(*seeds, seed=1)
    key = ["doc_id", "start", "end", "lexicon", "category"]
    assert not _match_rows(other)[key].reset_index(drop=True).equals(_match_rows(sheet)[key].reset_index(drop=True))
    assert not other.loc[other["row_type"] == "no_match", "sentence"].equals(
        sheet.loc[sheet["row_type"] == "no_match", "sentence"])


def test_a_stratum_draws_the_same_rows_whatever_the_other_strata(seeds, sheet):
    """The generator is keyed by (seed, stratum), so dropping a lexicon leaves the others' draws alone."""
    matches, sentences, documents = seeds
    only = coding_sheet(matches[matches["lexicon"] == "attribution"], sentences, documents)
    key = ["doc_id", "start", "end", "category"]
    expected = sheet[(sheet["lexicon"] == "attribution")]
    assert only[key].reset_index(drop=True).equals(expected[key].reset_index(drop=True))


def test_the_committed_pilot_sheet_is_what_coding_sheet_writes(sheet, tmp_path):
    path = write_coding_sheet(sheet, tmp_path / "sheet.csv")
    assert path.read_bytes() == (PILOT / "coding_sheet_seeds.csv").read_bytes()


def test_the_coded_pilot_is_the_exported_sheet_plus_codes(pilot):
    exported = read_coding_sheet(PILOT / "coding_sheet_seeds.csv")
    same = [c for c in spotcheck.SHEET_COLUMNS if c not in ("code", "coder_note")]
    pd.testing.assert_frame_equal(pilot[same], exported[same])
    assert set(pilot["code"]) == {"yes", "no"}


def test_every_context_is_the_sentence_text_around_the_match(seeds, sheet):
    _, sentences, _ = seeds
    rows = _match_rows(sheet).merge(sentences[["doc_id", "sentence_id", "start"]],
                                    on=["doc_id", "sentence_id"], suffixes=("", "_sentence"))
    assert len(rows) == len(_match_rows(sheet))
    for row in rows.itertuples():
        a, b = row.start - row.start_sentence, row.end - row.start_sentence
        assert row.sentence[a:b] == row.match
        assert row.sentence[a - len(row.left_context):a] == row.left_context
        assert row.sentence[b:b + len(row.right_context)] == row.right_context
        assert row.left_context + row.match + row.right_context in row.sentence
        assert len(row.left_context) <= 60 and len(row.right_context) <= 60


def test_context_is_cut_back_to_whole_words(sheet):
    """NYT lead: '... rebellious military officers from Venezuela over the last year to discuss ...'."""
    row = sheet[(sheet["doc_id"] == "002") & (sheet["match"] == "rebellious") & (sheet["sentence_id"] == 0)].iloc[0]
    assert row["left_context"] == "The Trump administration held secret meetings with "
    assert row["right_context"] == " military officers from Venezuela over the last year to"


def test_no_match_rows_are_sentences_without_a_match_in_their_lexicon(seeds, sheet):
    matches, sentences, _ = seeds
    rows = sheet[sheet["row_type"] == "no_match"]
    assert rows.groupby("lexicon").size().to_dict() == dict.fromkeys(sorted(matches["lexicon"].unique()), 20)
    matched = set(zip(matches["lexicon"], matches["doc_id"], matches["sentence_id"], strict=True))
    for row in rows.itertuples():
        assert (row.lexicon, row.doc_id, row.sentence_id) not in matched
        assert row.match == "" and row.category == "" and row.code == ""
    counted = _counted(matches)
    for lexicon, size in rows.groupby("lexicon")["stratum_size"].first().items():
        with_match = counted.loc[counted["lexicon"] == lexicon, ["doc_id", "sentence_id"]].drop_duplicates()
        assert size == len(_counted(sentences)) - len(with_match)


def test_a_repost_contributes_only_its_own_sections_unless_dedup_keep(seeds, sheet):
    assert set(sheet.loc[sheet["doc_id"] == "000", "section"]) <= {"headline", "added"}
    kept = coding_sheet(*seeds, dedup="keep")
    assert "body" in set(kept.loc[kept["doc_id"] == "000", "section"])
    assert len(_match_rows(kept)) > len(_match_rows(sheet))


def test_an_unknown_dedup_rule_is_named_with_the_choices(seeds):
    with pytest.raises(ValueError, match=r"dedup='none' is not one of \['drop_copies', 'keep'\]"):
        coding_sheet(*seeds, dedup="none")


def test_strata_must_include_lexicon_and_category(seeds):
    with pytest.raises(ValueError, match=r"strata=\('lexicon', 'outlet'\).*including \['lexicon', 'category'\]"):
        coding_sheet(*seeds, strata=("lexicon", "outlet"))


def test_an_unknown_stratum_column_is_named_with_the_allowed_ones(seeds):
    with pytest.raises(ValueError, match=r"strata=.*'colour'.*must list distinct columns from \[.*'outlet'"):
        coding_sheet(*seeds, strata=("lexicon", "category", "colour"))


def test_per_stratum_must_be_a_positive_integer(seeds):
    with pytest.raises(ValueError, match=r"per_stratum=0 must be an integer >= 1"):
        coding_sheet(*seeds, per_stratum=0)


def test_matches_from_another_run_are_refused(seeds):
    matches, sentences, documents = seeds
    shifted = matches.assign(start=matches["start"] + 1, end=matches["end"] + 1)
    with pytest.raises(ValueError, match=r"is not in its sentence's text"):
        coding_sheet(shifted, sentences, documents)


# --- Wilson interval ------------------------------------------------------------------------------

def test_wilson_interval_for_8_of_10_by_hand():
    k, n, z = 8, 10, 1.959963984540054  # z: the 0.975 quantile of the standard normal
    centre = (k + z**2 / 2) / (n + z**2)  # (8 + 1.9207) / 13.8415 = 0.7167
    half = z / (n + z**2) * math.sqrt(k * (n - k) / n + z**2 / 4)  # 0.1416 · sqrt(1.6 + 0.9604) = 0.2266
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(centre - half, abs=1e-12)
    assert high == pytest.approx(centre + half, abs=1e-12)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)


def test_wilson_interval_at_zero_and_all_stays_in_the_unit_interval():
    assert wilson_interval(0, 10) == (0.0, pytest.approx(0.2775, abs=1e-4))
    assert wilson_interval(10, 10) == (pytest.approx(0.7225, abs=1e-4), 1.0)
    assert wilson_interval(0, 1)[0] == 0.0 and wilson_interval(1, 1)[1] == 1.0


@given(n=st.integers(1, 5000), data=st.data(), confidence=st.floats(0.5, 0.999))
def test_wilson_interval_brackets_the_proportion_inside_zero_one(n, data, confidence):
    k = data.draw(st.integers(0, n))
    low, high = wilson_interval(k, n, confidence)
    assert 0.0 <= low <= k / n <= high <= 1.0


def test_a_wider_confidence_gives_a_wider_interval():
    low95, high95 = wilson_interval(8, 10)
    low99, high99 = wilson_interval(8, 10, confidence=0.99)
    assert low99 < low95 and high99 > high95


@pytest.mark.parametrize(("k", "n", "confidence"), [(3, 0, 0.95), (11, 10, 0.95), (-1, 10, 0.95), (2.5, 10, 0.95),
                                                     (2, 10, 1.0)])
def test_wilson_interval_refuses_impossible_input(k, n, confidence):
    with pytest.raises(ValueError, match=r"wilson_interval needs|confidence="):
        wilson_interval(k, n, confidence)


# --- scoring --------------------------------------------------------------------------------------

def test_the_readme_table_is_what_score_sheet_computes_from_the_pilot(pilot):
    readme = (PILOT / "README.md").read_text(encoding="utf-8")
    assert scores_markdown(score_sheet(pilot)) in readme


def test_precision_is_the_share_of_yes_with_its_wilson_interval(pilot):
    scores = score_sheet(pilot).set_index(["measure", "lexicon", "category"])
    coded = _match_rows(pilot)
    modal = coded[coded["category"] == "modal_hedge"]
    row = scores.loc[("precision", "hedges", "modal_hedge")]
    assert (row["n"], row["n_yes"]) == (len(modal), (modal["code"] == "yes").sum())
    assert row["precision"] == row["n_yes"] / row["n"]
    assert (row["ci_low"], row["ci_high"]) == wilson_interval(int(row["n_yes"]), int(row["n"]))
    assert row["ci_method"] == "Wilson score, 95%"


def test_recall_follows_its_stated_formula(pilot):
    scores = score_sheet(pilot)
    precision = scores[(scores["measure"] == "precision") & (scores["lexicon"] == "hedges")]
    miss = scores[(scores["measure"] == "miss_rate") & (scores["lexicon"] == "hedges")].iloc[0]
    recall = scores[(scores["measure"] == "recall") & (scores["lexicon"] == "hedges")].iloc[0]
    true = (precision["precision"] * precision["matches_in_corpus"]).sum()
    missed = miss["miss_rate"] * miss["unmatched_sentences"]
    assert recall["est_true_matches"] == pytest.approx(true)
    assert recall["est_missed"] == pytest.approx(missed)
    assert recall["recall"] == pytest.approx(true / (true + missed))
    assert recall["ci_low"] <= recall["recall"] <= recall["ci_high"]
    assert recall["matches_in_corpus"] == precision["matches_in_corpus"].sum()


def test_codes_are_read_case_insensitively(pilot):
    shouted = pilot.assign(code=pilot["code"].str.upper().radd(" "))
    pd.testing.assert_frame_equal(score_sheet(shouted), score_sheet(pilot))


def test_an_invalid_code_is_an_error_naming_the_row_and_the_allowed_codes(pilot):
    bad = pilot.copy()
    bad.loc[bad["sheet_row"] == 5, "code"] = "maybe"
    with pytest.raises(ValueError, match=r"sheet row 5: 'maybe'\. Allowed: yes, no \(any case\) or blank"):
        score_sheet(bad)


def test_blank_codes_are_left_out_and_counted(pilot):
    blanked = pilot.copy()
    rows = blanked.index[(blanked["category"] == "actor_label")][:3]
    blanked.loc[rows, "code"] = ""
    blanked.loc[blanked.index[blanked["row_type"] == "no_match"][:2], "code"] = "  "
    before = score_sheet(pilot).set_index(["measure", "lexicon", "category"])
    after = score_sheet(blanked).set_index(["measure", "lexicon", "category"])
    assert after.loc[("precision", "loaded", "actor_label"), "n"] == before.loc[
        ("precision", "loaded", "actor_label"), "n"] - 3
    assert after.loc[("precision", "loaded", "actor_label"), "n_blank"] == 3
    assert after.loc[("miss_rate", "attribution", "all"), "n_blank"] == 2
    assert score_sheet(blanked).attrs["n_blank"] == 5


def test_an_uncoded_sheet_scores_as_all_blank(sheet):
    scores = score_sheet(sheet)
    assert (scores["n"].fillna(0) == 0).all() and scores["precision"].isna().all()
    assert scores.attrs["n_blank"] == len(sheet)
