"""Lexicon matching and VADER scoring (analysis.measures), claim by claim on seed passages.

Small fixture lexicons are written per test; the packaged lexicons are tested at the end when
present. Passages are copied from seeds/ as literals so a claim reads with its evidence.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import pickle
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from analysis import measures
from analysis.measures import (
    LEXICON_COLUMNS,
    compile_matcher,
    find_matches,
    fold_text,
    lexicon_versions,
    load_lexicons,
    match_documents,
    score_sentences,
    score_sentences_masked,
)

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
PACKAGED = sorted(measures.LEXICON_DIR.glob("*.csv"))

# seeds/001 (The Province, syndicated Washington Post)
HEADLINE_001 = "Venezuela coup-plotters asked U.S. for help"
LEAD_001 = ("WASHINGTON — The Trump administration met several times last year and early this year "
            "with Venezuelan military officers purporting to be dissidents plotting a coup against "
            "President Nicolás Maduro, but ultimately rebuffed their requests for assistance.")
ANONYMOUS_001 = ("The operation was small and closely-held, according to one senior official, who "
                 "described the meetings as “all listening. We listen to anyone who wants to talk to us.”")
NONE_OF_US_001 = ("“You’re trying to glean an understanding of a part of Venezuelan society, the military, "
                  "that none of us knows very much about,” although the decision to meet several times "
                  "posed a risk of becoming exposed and sparking a backlash in the hemisphere, he said.")
# seeds/000 (New York Times)
CHANNEL_000 = ("Establishing a clandestine channel with coup plotters in Venezuela was a big gamble for "
               "Washington, given its long history of covert intervention across Latin America.")
REGIMES_000 = ("Many in the region still deeply resent the United States for backing previous rebellions, "
               "coups and plots in countries like Cuba, Nicaragua, Brazil and Chile, and for turning a "
               "blind eye to the abuses military regimes committed during the Cold War.")
BACKFIRE_000 = ("But the Trump administration’s willingness to meet several times with mutinous officers "
                "intent on toppling a president in the hemisphere could backfire politically.")
MAY_000 = ("Finally, the dissidents looked to the May 20 election, during which Mr. Maduro was "
           "re-elected, as a new target date.")
ABOUT_000 = ("In the latest coup plot, the number of military figures connected to the plan dwindled "
             "from a high of about 300 to 400 last year to about half that after a crackdown this year "
             "by Mr. Maduro’s government.")
CRISIS_000 = ("But as the humanitarian crisis in Venezuela worsened last year, American officials felt "
              "that having a clearer picture of the plans and the men who aspired to oust Mr. Maduro was "
              "worth the risk.")
# seeds/003 (WSWS)
HEADLINE_003 = "US officials met with Venezuelan military to discuss coup plot"
REGIME_003 = ("there is a very strong argument that can be made at this time that Venezuela and the "
              "Maduro regime has become a threat to the region and even to the United States")
INDEED_003 = ("Indeed, the top layers of the Venezuelan military have been some of the biggest "
              "beneficiaries of the rule of Maduro and the late Hugo Chávez, who himself came from the "
              "military and installed officers throughout the Venezuelan government.")
SORT_003 = ("While the Times piece paints a portrait of the coup plotters as some kind of democratic "
            "resistance to an authoritarian Maduro, they are nothing of the sort.")
# seeds/004 (Global News)
PLOT_004 = ("Military officials then hatched a plot to disrupt the May 20 presidential election, arrest "
            "Maduro and put him on trial, but the Venezuelan government got wind of the conspiracy and "
            "thwarted it, Bloomberg reported.")
REFUGEES_004 = ("The economic collapse has sparked concerns of a regional refugee crisis, with thousands of "
                "Venezuelans already fleeing to neighbouring Colombia, Brazil and Peru.")
ANTI_004 = ("In June 2017, a Venezuelan police helicopter lobbed grenades at the country’s supreme court "
            "building amid escalating anti-Maduro protests across the country.")
LEAD_004 = ("The Trump administration held a series of clandestine meetings with dissident Venezuelan "
            "military officers to discuss the overthrow of President Nicolas Maduro, before ultimately "
            "deciding not to support their coup plot, according to a New York Times report.")


def entry(term, category="c", *, kind="term", case_sensitive=0, forms="", exclude_before="",
          exclude_after=""):
    """One lexicon row in the binding format."""
    return {"term": term, "category": category, "kind": kind, "case_sensitive": case_sensitive,
            "forms": forms, "exclude_before": exclude_before, "exclude_after": exclude_after,
            "source": "test fixture", "note": ""}


def write_lexicon(folder: Path, name: str, rows, columns=LEXICON_COLUMNS) -> Path:
    path = folder / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def lexicon_dir(tmp_path):
    return tmp_path


def matcher_for(folder: Path, **lexicons):
    """A matcher over fixture lexicons given as name=[rows]."""
    paths = [write_lexicon(folder, name, rows) for name, rows in lexicons.items()]
    return compile_matcher(load_lexicons(paths))


def found(matcher, text, lexicon=None):
    """(match, term, category) of the matches in `text`, optionally of one lexicon."""
    return [(m[2], m[3], m[5]) for m in find_matches(matcher, text) if lexicon in (None, m[4])]


# --- normalisation ---------------------------------------------------------------------------


def test_accented_and_plain_spellings_are_one_term(lexicon_dir):
    matcher = matcher_for(lexicon_dir, actors=[entry("nicolas maduro", "maduro"),
                                               entry("hugo chavez", "chavez")])
    assert found(matcher, LEAD_001) == [("Nicolás Maduro", "nicolas maduro", "maduro")]
    assert found(matcher, LEAD_004) == [("Nicolas Maduro", "nicolas maduro", "maduro")]
    assert found(matcher, INDEED_003) == [("Hugo Chávez", "hugo chavez", "chavez")]


def test_hyphen_and_space_between_words_are_the_same(lexicon_dir):
    matcher = matcher_for(lexicon_dir, loaded=[entry("coup plotters")])
    assert found(matcher, HEADLINE_001) == [("coup-plotters", "coup plotters", "c")]
    assert found(matcher, CHANNEL_000) == [("coup plotters", "coup plotters", "c")]


def test_a_hyphenated_term_matches_the_spaced_spelling(lexicon_dir):
    matcher = matcher_for(lexicon_dir, loaded=[entry("closely-held")])
    assert found(matcher, ANONYMOUS_001) == [("closely-held", "closely-held", "c")]
    assert found(matcher, "small and closely held") == [("closely held", "closely-held", "c")]


def test_fold_keeps_one_character_per_character():
    for text in (LEAD_001, ANONYMOUS_001, NONE_OF_US_001, INDEED_003, "İstanbul\u00a0x\u2013y"):
        assert len(fold_text(text)) == len(text) == len(fold_text(text, case_sensitive=True))
    assert fold_text("Nicolás Maduro’s coup-plotters") == "nicolas maduro's coup plotters"
    assert fold_text("Nicolás Maduro’s coup-plotters", case_sensitive=True, hyphens_as_spaces=False) \
        == "Nicolas Maduro's coup-plotters"


# --- case ------------------------------------------------------------------------------------


def test_case_sensitive_us_is_the_country_not_the_pronoun(lexicon_dir):
    matcher = matcher_for(lexicon_dir, actors=[entry("US", "united states", case_sensitive=1)])
    assert found(matcher, HEADLINE_003) == [("US", "US", "united states")]
    assert found(matcher, NONE_OF_US_001) == []


def test_case_insensitive_terms_match_capitalised_words(lexicon_dir):
    matcher = matcher_for(lexicon_dir, loaded=[entry("regime"), entry("military")])
    assert [m[0] for m in found(matcher, PLOT_004)] == ["Military"]
    assert [m[0] for m in found(matcher, "Maduro Regime")] == ["Regime"]
    assert [m[0] for m in found(matcher, REGIME_003)] == ["regime"]


# --- words, forms, longest match ---------------------------------------------------------------


def test_multi_word_terms_match_across_words(lexicon_dir):
    matcher = matcher_for(lexicon_dir, attribution=[entry("according to", "source")])
    assert found(matcher, ANONYMOUS_001) == [("according to", "according to", "source")]


def test_listed_forms_count_as_the_term(lexicon_dir):
    matcher = matcher_for(lexicon_dir, loaded=[entry("regime", forms="regimes")])
    assert found(matcher, REGIMES_000) == [("regimes", "regime", "c")]


def test_the_longest_term_wins_and_the_shorter_inside_is_not_counted(lexicon_dir):
    matcher = matcher_for(lexicon_dir, loaded=[
        entry("regime", forms="regimes"), entry("military regime", "junta", forms="military regimes")])
    assert found(matcher, REGIMES_000) == [("military regimes", "military regime", "junta")]
    assert found(matcher, REGIME_003) == [("regime", "regime", "c")]


def test_terms_match_whole_words_only(lexicon_dir):
    matcher = matcher_for(lexicon_dir, loaded=[entry("regime"), entry("venezuelan"), entry("maduro")])
    assert found(matcher, REGIMES_000) == []  # "regimes" is not listed as a form
    assert [m[0] for m in found(matcher, REFUGEES_004)] == []  # "Venezuelans"
    assert found(matcher, "the Maduros") == []
    # apostrophes and hyphens end a word: "Maduro’s", "anti-Maduro"
    assert [m[0] for m in found(matcher, ABOUT_000)] == ["Maduro"]
    assert [m[0] for m in found(matcher, ANTI_004)] == ["Venezuelan", "Maduro"]


def test_overlap_is_resolved_within_a_lexicon_not_across_lexicons(lexicon_dir):
    matcher = matcher_for(lexicon_dir, attribution=[entry("according to", "source")],
                          hedges=[entry("according", "distancing")])
    assert found(matcher, ANONYMOUS_001) == [("according", "according", "distancing"),
                                              ("according to", "according to", "source")]


# --- exclusions and patterns -----------------------------------------------------------------


def test_exclusions_drop_the_month_and_keep_the_modal(lexicon_dir):
    matcher = matcher_for(lexicon_dir, hedges=[entry("may", exclude_after=r"^\s+\d"), entry("could")])
    assert found(matcher, MAY_000) == []
    assert found(matcher, PLOT_004) == []
    assert found(matcher, BACKFIRE_000) == [("could", "could", "c")]


def test_exclude_before_sees_the_words_before_the_match(lexicon_dir):
    matcher = matcher_for(lexicon_dir, loaded=[entry("plot", exclude_before=r"\bcoup\s+$")])
    assert found(matcher, ABOUT_000) == []  # "the latest coup plot"
    assert found(matcher, PLOT_004) == [("plot", "plot", "c")]  # "hatched a plot"


def test_an_excluded_long_match_does_not_hide_a_shorter_one(lexicon_dir):
    matcher = matcher_for(lexicon_dir, loaded=[
        entry("coup plot", "plot", exclude_before=r"\blatest\s+$"), entry("coup", "coup")])
    assert found(matcher, ABOUT_000) == [("coup", "coup", "coup")]
    assert found(matcher, LEAD_004) == [("coup plot", "coup plot", "plot")]


def test_patterns_match_on_folded_text_with_their_own_boundaries(lexicon_dir):
    matcher = matcher_for(lexicon_dir, hedges=[
        entry(r"\babout \d+(?: to \d+)?\b", "approximator", kind="pattern"),
        entry(r"\bpresident nicolas\b", "accent folded", kind="pattern"),
        entry(r"\bU\.S\.", "usa", kind="pattern", case_sensitive=1)])
    assert found(matcher, ABOUT_000) == [("about 300 to 400", r"\babout \d+(?: to \d+)?\b", "approximator")]
    assert [m[0] for m in found(matcher, LEAD_001)] == ["President Nicolás"]
    assert [m[0] for m in found(matcher, HEADLINE_001)] == ["U.S."]
    assert found(matcher, "u.s.") == []


def test_patterns_see_hyphens_as_written(lexicon_dir):
    # Terms treat hyphen and space alike; a regex author writes the hyphen ("high-ranking") or
    # a class ("coup[- ]plotters") and gets exactly that.
    matcher = matcher_for(lexicon_dir, loaded=[
        entry(r"\bclosely-held\b", "hyphen", kind="pattern"),
        entry(r"\bcoup\s+plotters\b", "space", kind="pattern")])
    assert [m[0] for m in found(matcher, ANONYMOUS_001)] == ["closely-held"]
    assert found(matcher, HEADLINE_001) == []
    assert [m[0] for m in found(matcher, CHANNEL_000)] == ["coup plotters"]


def test_overlapping_patterns_of_one_lexicon_keep_the_longest(lexicon_dir):
    matcher = matcher_for(lexicon_dir, hedges=[
        entry(r"\babout \d+\b", "short", kind="pattern"),
        entry(r"\babout \d+ to \d+\b", "range", kind="pattern")])
    assert found(matcher, ABOUT_000) == [("about 300 to 400", r"\babout \d+ to \d+\b", "range")]


def test_offsets_point_at_the_match_in_every_seed(lexicon_dir):
    matcher = matcher_for(
        lexicon_dir,
        loaded=[entry("regime", forms="regimes"), entry("coup plotters"), entry("chavez"),
                entry("dictator"), entry("crisis"), entry("US", case_sensitive=1)],
        hedges=[entry("may", exclude_after=r"^\s+\d"), entry("could"), entry("reportedly"),
                entry(r"\babout \d+\b", kind="pattern")],
        attribution=[entry("according to"), entry("said")])
    documents = pd.DataFrame({"doc_id": [p.stem for p in sorted(SEEDS.glob("*.txt"))],
                              "clean_text": [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]})
    table = match_documents(documents, matcher)
    assert list(table.columns) == list(measures.MATCH_COLUMNS)
    assert len(table) > 100
    texts = dict(zip(documents["doc_id"], documents["clean_text"]))
    assert all(texts[d][s:e] == m for d, s, e, m in zip(table["doc_id"], table["start"], table["end"], table["match"]))
    assert {"Chávez", "Chavez", "coup-plotters", "coup plotters"} <= set(table["match"])


def test_a_matcher_survives_pickling_for_worker_processes(lexicon_dir):
    matcher = matcher_for(lexicon_dir, loaded=[entry("coup plotters"), entry("US", case_sensitive=1)],
                          hedges=[entry(r"\babout \d+\b", kind="pattern")])
    copy = pickle.loads(pickle.dumps(matcher))
    for text in (HEADLINE_001, HEADLINE_003, ABOUT_000):
        assert find_matches(copy, text) == find_matches(matcher, text)


def test_match_documents_of_no_documents_is_an_empty_table(lexicon_dir):
    matcher = matcher_for(lexicon_dir, loaded=[entry("regime")])
    table = match_documents(pd.DataFrame({"doc_id": [], "clean_text": []}), matcher)
    assert table.empty and list(table.columns) == list(measures.MATCH_COLUMNS)


# --- property --------------------------------------------------------------------------------

PROPERTY_LEXICONS = {
    "loaded": [entry("regime", forms="regimes"), entry("military regime"), entry("coup plotters"),
               entry("coup"), entry("US", case_sensitive=1), entry("nicolas maduro"), entry("maduro")],
    "hedges": [entry("may", exclude_after=r"^\s+\d"), entry("about"), entry("could"),
               entry(r"\babout \d+(?: to \d+)?\b", kind="pattern")],
    "attribution": [entry("according to"), entry("according"), entry("said")],
}
FILLERS = ["the", "a", "us", "Maduros", "300", "to", "400", "20", "military", "of", "plotters",
           "regimen", "Nicolás", "MADURO", "Régime", "coup-plotters", "Coup", "said,", "“about”"]
SEPARATORS = [" ", "  ", "-", "\u2013", "\n", ", ", ". ", "’", ""]


@pytest.fixture(scope="module")
def property_matcher(tmp_path_factory):
    return matcher_for(tmp_path_factory.mktemp("lexicons"), **PROPERTY_LEXICONS)


def _keys(rows):
    """Folded keys each term may match (terms and forms; patterns match their regex)."""
    keys = {}
    for row in rows:
        if row["kind"] == "term":
            surfaces = [row["term"], *filter(None, row["forms"].split("|"))]
            keys[row["term"]] = {fold_text(s, case_sensitive=bool(row["case_sensitive"])) for s in surfaces}
    return keys


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(FILLERS + [r["term"] for rows in PROPERTY_LEXICONS.values()
                                                     for r in rows if r["kind"] == "term"]),
                          st.sampled_from(SEPARATORS)), max_size=25))
def test_matches_never_overlap_within_a_lexicon_and_fold_to_their_term(property_matcher, pieces):
    text = "".join(word + separator for word, separator in pieces)
    matches = find_matches(property_matcher, text)
    for name, rows in PROPERTY_LEXICONS.items():
        keys = _keys(rows)
        spans = sorted((m[0], m[1]) for m in matches if m[4] == name)
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
        for start, end, match, term, lexicon, _ in matches:
            assert text[start:end] == match
            if lexicon == name and term in keys:
                case_sensitive = term == "US"
                assert fold_text(match, case_sensitive=case_sensitive) in keys[term]


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(("row", "message"), [
    (entry(""), "term is empty"),
    (entry("regime", category=""), "category is empty"),
    (entry("regime", kind="word"), "kind 'word' is not one of term, pattern"),
    (entry("regime", case_sensitive="yes"), "case_sensitive 'yes' must be 0 or 1"),
    (entry("US"), "has capitals but case_sensitive is 0"),
    (entry("coup  plotters"), "repeated spaces"),
    (entry(r"\babout (\d+", kind="pattern"), "does not compile"),
    (entry(r"\bAbout \d+", kind="pattern"), "write them in lower case"),
    (entry(r"\w*", kind="pattern"), "matches empty text"),
    (entry(r"\bnicolás\b", kind="pattern"), "never occur in the text"),
    (entry("may", exclude_before=r"\bMaduro’s\s+$"), "never occur in the text"),
    (entry("may", exclude_after=r"^\s+(\d"), "exclude_after"),
    (entry("may", exclude_before=r"[a-"), "exclude_before"),
    (entry(r"\babout\b", kind="pattern", forms="approximately"), "forms are only for kind=term"),
])
def test_a_bad_row_is_named_by_file_and_row(tmp_path, row, message):
    path = write_lexicon(tmp_path, "hedges", [entry("could"), row])
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        load_lexicons([path])
    assert str(path) in str(error.value)
    assert "data row 2 (line 3 counting the header)" in str(error.value)


def test_a_surface_form_listed_twice_is_an_error(tmp_path):
    path = write_lexicon(tmp_path, "loaded", [entry("coup plotters"), entry("regime", forms="regimes"),
                                              entry("coup-plotters")])
    with pytest.raises(ValueError, match=r"data row 3 .*'coup-plotters' matches the same text as "
                                         r"'coup plotters' in data row 1"):
        load_lexicons([path])


def test_a_rows_own_folded_variant_is_not_a_duplicate(tmp_path):
    path = write_lexicon(tmp_path, "loaded", [entry("coup plotters", forms="coup-plotters")])
    assert found(compile_matcher(load_lexicons(path)), HEADLINE_001) == [
        ("coup-plotters", "coup plotters", "c")]


def test_a_missing_column_is_named(tmp_path):
    path = write_lexicon(tmp_path, "loaded", [entry("regime")],
                         columns=[c for c in LEXICON_COLUMNS if c != "exclude_after"])
    with pytest.raises(ValueError, match=r"loaded\.csv: missing column\(s\) exclude_after"):
        load_lexicons([path])


def test_two_files_with_one_name_are_an_error(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    paths = [write_lexicon(tmp_path / d, "hedges", [entry("could")]) for d in ("a", "b")]
    with pytest.raises(ValueError, match="several files are named"):
        load_lexicons(paths)


def test_lexicon_name_and_version_come_from_the_file(tmp_path):
    path = write_lexicon(tmp_path, "boosters", [entry("indeed"), entry("clearly")])
    table = load_lexicons(path)
    version = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    assert set(table["lexicon"]) == {"boosters"}
    assert lexicon_versions(table) == {"boosters": version}
    assert table["case_sensitive"].tolist() == [False, False]


# --- VADER -----------------------------------------------------------------------------------


def seed_sentences() -> pd.DataFrame:
    """Seed sentences by a plain split on '. ' (the real segmenter lives in analysis.text)."""
    rows = []
    for path in sorted(SEEDS.glob("*.txt")):
        parts = [s.strip() for s in path.read_text(encoding="utf-8").split(". ") if s.strip()]
        rows += [(path.stem, i, s) for i, s in enumerate(parts)]
    return pd.DataFrame(rows, columns=["doc_id", "sentence_id", "text"])


def test_scores_equal_vader_called_directly_on_every_seed_sentence():
    sentences = seed_sentences()
    scores = score_sentences(sentences)
    direct = SentimentIntensityAnalyzer()
    expected = pd.DataFrame([direct.polarity_scores(t) for t in sentences["text"]])
    assert list(scores.columns) == list(measures.SCORE_COLUMNS)
    assert scores[["doc_id", "sentence_id"]].equals(sentences[["doc_id", "sentence_id"]])
    for column in ("compound", "pos", "neu", "neg"):
        assert scores[column].tolist() == expected[column].tolist()


def test_syndicated_copies_are_scored_once(monkeypatch):
    sentences = seed_sentences()  # 000 and 002 carry the same New York Times article
    analyzer = measures._analyzer()
    calls = []

    def counting(text):
        calls.append(text)
        return SentimentIntensityAnalyzer.polarity_scores(analyzer, text)

    monkeypatch.setattr(analyzer, "polarity_scores", counting)
    score_sentences(sentences)
    assert len(calls) == sentences["text"].nunique() < len(sentences)
    assert len(set(calls)) == len(calls)


def test_masking_crisis_neutralises_it_and_an_empty_mask_changes_nothing():
    sentences = pd.DataFrame({"doc_id": ["000", "004"], "sentence_id": [19, 40],
                              "text": [CRISIS_000, REFUGEES_004]})
    raw = score_sentences(sentences)["compound"]
    masked = score_sentences_masked(sentences, {"crisis"})["compound_masked"]
    assert (masked > raw).all()
    assert score_sentences_masked(sentences, set())["compound_masked"].tolist() == raw.tolist()


def test_masked_words_stay_in_the_sentence_as_neutral_tokens():
    # Removing "crisis" from VADER's lexicon equals scoring the sentence with a word VADER does
    # not know in its place: same tokens, same windows for negation and boosters.
    masked = score_sentences_masked(pd.DataFrame({"doc_id": ["004"], "sentence_id": [0],
                                                  "text": [REFUGEES_004]}), ["Crisis"])
    neutral_stand_in = SentimentIntensityAnalyzer().polarity_scores(REFUGEES_004.replace("crisis", "situation"))
    assert masked["compound_masked"].tolist() == [neutral_stand_in["compound"]]


def test_a_multi_word_mask_entry_is_refused():
    sentences = pd.DataFrame({"doc_id": ["000"], "sentence_id": [0], "text": [CRISIS_000]})
    with pytest.raises(ValueError, match="single non-empty tokens"):
        score_sentences_masked(sentences, ["humanitarian crisis"])


# --- the packaged lexicons -------------------------------------------------------------------

needs_packaged = pytest.mark.skipif(not PACKAGED, reason="no packaged lexicons yet")


@pytest.fixture(scope="module")
def packaged():
    return compile_matcher(load_lexicons())


def categories(matcher, text, lexicon):
    return {(m[2].lower(), m[5]) for m in find_matches(matcher, text) if m[4] == lexicon}


@needs_packaged
def test_packaged_indeed_and_nothing_of_the_sort_are_boosters(packaged):
    assert any(m == "indeed" for m, _ in categories(packaged, INDEED_003, "boosters"))
    assert any(m == "nothing of the sort" for m, _ in categories(packaged, SORT_003, "boosters"))


@needs_packaged
def test_packaged_purporting_is_a_distancing_hedge(packaged):
    hedges = categories(packaged, LEAD_001, "hedges")
    assert any(m.startswith("purporting") and "distanc" in c for m, c in hedges), hedges


@needs_packaged
def test_packaged_according_to_is_attribution_and_never_a_hedge(packaged):
    for text in (ANONYMOUS_001, LEAD_004):
        assert any(m == "according to" for m, _ in categories(packaged, text, "attribution"))
    for path in sorted(SEEDS.glob("*.txt")):
        hedges = categories(packaged, path.read_text(encoding="utf-8"), "hedges")
        assert not any("according" in m for m, _ in hedges), path.name


@needs_packaged
def test_packaged_may_20_is_a_date_not_a_hedge(packaged):
    for text in (MAY_000, PLOT_004):
        assert not any(m == "may" for m, _ in categories(packaged, text, "hedges"))


@needs_packaged
def test_packaged_about_300_to_400_is_an_approximator(packaged):
    hedges = categories(packaged, ABOUT_000, "hedges")
    assert any(m.startswith("about 300") and "approx" in c for m, c in hedges), hedges


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["d1", "d2", "d3", "d10"]), st.integers(0, 4),
                          st.sampled_from(["own", "quoted", "reported"]), st.integers(0, 6)), max_size=30),
       st.lists(st.tuples(st.sampled_from(["d1", "d2", "d3", "d4"]), st.integers(0, 5)), max_size=20, unique=True),
       st.sampled_from([object, "category", "str"]))
def test_each_sentence_gets_the_voice_a_merge_with_sentence_voice_gives(totals, sentence_keys, dtype):
    """sentence_voices, on integer keys, is the left merge of the sentences with sentence_voice
    (majority voice, ties own, quoted, reported): rows in any order, sentences without word totals
    (NA), word totals of documents without sentences, the doc_ids as text, objects or categories."""
    from analysis.measures import sentence_voice, sentence_voices

    word_totals = pd.DataFrame(totals, columns=["doc_id", "sentence_id", "voice", "n_words"]).astype(
        {"doc_id": dtype, "voice": dtype})
    sentences = pd.DataFrame(sentence_keys, columns=["doc_id", "sentence_id"]).astype({"doc_id": dtype})
    merged = sentences.merge(sentence_voice(word_totals), on=["doc_id", "sentence_id"], how="left")["voice"]
    found = sentence_voices(sentences, word_totals)
    assert found.index.equals(sentences.index)
    pd.testing.assert_series_equal(found.reset_index(drop=True), merged, check_names=False,
                                   check_categorical=False)


@settings(deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["d1", "d2", "d10", "é"]), st.integers(0, 3),
                          st.sampled_from(["loaded", "hedges"]), st.sampled_from(["label", "regime", None]),
                          st.sampled_from(["regime", "dictator", "may"]), st.sampled_from(["own", "quoted"]),
                          st.sampled_from(["body", "headline"])), max_size=40),
       st.sampled_from([object, "str", "category"]))
def test_match_counts_is_the_groupby_of_the_seven_keys(rows, dtype):
    """match_counts, a stable sort of packed key codes, gives what pandas' groupby(...).size() gives:
    the same rows in the same order and dtypes, repeated matches counted, rows with a missing key
    (here a missing category) left out as groupby leaves them out, text, object or categorical
    columns (these go to groupby itself)."""
    from analysis.measures import MATCH_COUNT_KEYS, match_counts

    matches = pd.DataFrame(rows, columns=MATCH_COUNT_KEYS)
    matches = matches.astype({k: dtype for k in MATCH_COUNT_KEYS if k != "sentence_id"})
    expected = matches.groupby(MATCH_COUNT_KEYS, sort=True).size().rename("count").reset_index()
    found = match_counts(matches)
    pd.testing.assert_frame_equal(found, expected, check_exact=True)
    assert found["count"].sum() == matches[MATCH_COUNT_KEYS].notna().all(axis=1).sum()
