"""The measures on the seed corpus, stated as a methods section would state them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import text as text_model
from analysis.pipeline import load_corpus, measure

PROJECT = Path(__file__).resolve().parent.parent
SEEDS = PROJECT / "seeds"
CONTRAST = SEEDS / "groupings" / "socialist_vs_mainstream.csv"
WSWS, POST, NYT, GLOBAL, BLOG = "003", "001", "002", "004", "000"


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(SEEDS)


@pytest.fixture(scope="module")
def results(corpus):
    return measure(corpus, grouping=CONTRAST, group_a="socialist_press", group_b="mainstream", n_boot=500,
                   n_perm=2000)


@pytest.fixture(scope="module")
def matches(results):
    return results["matches"]


def found(matches, doc_id, term, lexicon=None):
    rows = matches[(matches.doc_id == doc_id) & (matches.term == term)]
    return rows if lexicon is None else rows[rows.lexicon == lexicon]


def test_wsws_uses_imperialist_and_bourgeoisie_in_its_own_voice(matches):
    for term in ("imperialist", "bourgeoisie"):
        rows = found(matches, WSWS, term, "loaded")
        assert len(rows) >= 1 and set(rows.voice) == {"own"}, term


def test_dictator_in_the_post_appears_only_inside_trumps_quoted_words(matches, corpus):
    rows = found(matches, POST, "dictator", "loaded")
    assert len(rows) == 1 and set(rows.voice) == {"quoted"}
    sentence = corpus.sentences.set_index(["doc_id", "sentence_id"]).loc[(POST, rows.sentence_id.iloc[0]), "text"]
    assert sentence.startswith("Trump has denounced Maduro")


def test_regime_in_global_news_is_only_inside_the_white_house_statement(matches, corpus):
    rows = found(matches, GLOBAL, "regime", "loaded")
    assert len(rows) == 1 and set(rows.voice) == {"quoted"}
    text = corpus.documents.set_index("doc_id").loc[GLOBAL, "clean_text"]
    statement = text[text.index("“The United States government hears daily"):]
    assert rows.start.iloc[0] > text.index("“The United States government hears daily")
    assert "read the statement" in statement


def test_wsws_reportedly_and_apparently_are_hedges(matches):
    assert set(found(matches, WSWS, "reportedly").category) == {"hedge_adverb"}
    assert len(found(matches, WSWS, "apparently", "hedges")) == 2


def test_global_news_reportedly_is_in_a_read_more_line_and_not_counted(matches, corpus):
    raw = (SEEDS / "004_dc08a94d67cfac3a.txt").read_text(encoding="utf-8")
    assert "READ MORE:\u00a0Donald Trump reportedly asked aides" in raw
    assert found(matches, GLOBAL, "reportedly").empty
    report = corpus.cleaning_report.query("doc_id == @GLOBAL and rule_id == 'read_more'")
    assert any("reportedly" in line for line in report.raw_line)


def test_the_posts_purporting_is_a_distancing_hedge(matches):
    rows = matches[(matches.doc_id == POST) & matches.match.str.startswith("purporting")]
    assert list(rows.category) == ["distancing"]


def test_wsws_indeed_and_nothing_of_the_sort_are_boosters_in_rejoined_text(matches, corpus):
    assert set(found(matches, WSWS, "indeed").category) == {"booster"}
    rows = found(matches, WSWS, "nothing of the sort", "boosters")
    assert len(rows) == 1
    sentence = corpus.sentences.set_index(["doc_id", "sentence_id"]).loc[(WSWS, rows.sentence_id.iloc[0]), "text"]
    assert sentence.startswith("While the Times piece paints a portrait of the coup plotters")


def test_according_to_is_attribution_never_a_hedge(matches):
    rows = matches[matches.match.str.lower() == "according to"]
    assert len(rows) >= 5
    assert set(rows.lexicon) == {"attribution"}


def test_may_20_is_a_month_not_a_hedge(matches, corpus):
    assert "the May 20 election" in corpus.documents.set_index("doc_id").loc[NYT, "clean_text"]
    assert matches[(matches.lexicon == "hedges") & matches.match.str.contains("May")].empty


def test_about_300_to_400_is_an_approximator(matches):
    rows = matches[(matches.doc_id == NYT) & (matches.category == "approximator")]
    assert "about 300" in set(rows.match)


def test_every_match_points_at_its_words_in_the_raw_capture(matches, corpus):
    raw = dict(zip(corpus.documents.doc_id, corpus.documents.raw_text))
    clean = dict(zip(corpus.documents.doc_id, corpus.documents.clean_text))
    for row in matches.itertuples():
        assert clean[row.doc_id][row.start:row.end] == row.match
        if row.category != "scare_quote":  # a match across a rejoined paragraph spans the blank lines
            assert " ".join(raw[row.doc_id][row.raw_start:row.raw_end].split()) == " ".join(row.match.split())


def test_wsws_scare_quotes_are_its_own_voice(matches):
    rows = matches[(matches.doc_id == WSWS) & (matches.category == "scare_quote")]
    assert set(rows.term) == {"meddling"}
    assert rows.scare_quote.all() and set(rows.voice) == {"own"}


def test_outlet_rates_are_counts_over_the_words_of_the_same_voice(results, corpus):
    estimates, matches = results["estimates"], results["matches"]
    words = text_model.word_voice_totals(corpus.documents, corpus.sentences, corpus.spans)
    row = estimates.query("unit_type == 'outlet' and unit == 'World Socialist Web Site' and measure == 'rate_per_1k'"
                          " and lexicon == 'loaded' and category == 'all' and voice == 'own' and section == 'all'")
    assert len(row) == 1
    count = len(matches.query("doc_id == @WSWS and lexicon == 'loaded' and voice == 'own'"))
    n_words = words.query("doc_id == @WSWS and voice == 'own'").n_words.sum()
    assert row["count"].iloc[0] == count and row["n_words"].iloc[0] == n_words
    assert row["value"].iloc[0] == pytest.approx(1000 * count / n_words)
    assert row["ci_low"].iloc[0] <= row["value"].iloc[0] <= row["ci_high"].iloc[0]
    assert "within-article" in row["warning"].iloc[0]


def test_the_repost_body_is_not_counted_twice_but_its_own_lines_are(results):
    estimates = results["estimates"]
    blog = estimates.query("unit_type == 'outlet' and unit == 'Partisan blog (name not in capture)' and "
                           "measure == 'rate_per_1k' and lexicon == 'loaded' and category == 'all' and voice == 'all'")
    sections = set(blog.section) - {"all"}
    assert sections == {"headline", "added"}
    assert blog.query("section == 'all'")["n_words"].iloc[0] < 40


def test_the_socialist_press_contrast_reports_the_smallest_attainable_p(results):
    diffs = results["differences"]
    pair = diffs.query("group_a == 'socialist_press' and group_b == 'mainstream'")
    assert len(pair) > 0
    assert (pair.n_docs_a == 1).all()
    whole = pair.query("section == 'all'")
    assert (whole.n_docs_b == 3).all() and (whole.min_p == 0.25).all()
    assert (pair.min_p == 1 / (pair.n_docs_b + 1)).all()  # one document against n: n + 1 labelings
    assert (pair.p_value >= pair.min_p).all()


def test_actor_labels_keep_cold_war_regimes_away_from_maduro(results):
    labels = results["actor_labels"]
    maduro = labels.query("actor == 'maduro_government' and kind == 'label'")
    nyt = maduro.query("doc_id == @NYT")
    assert set(nyt.query("alias in ['regime', 'the regime', 'maduro regime']").voice) == {"quoted"}
    assert "dictator" in set(maduro.query("doc_id == @POST").alias)


def test_distinctive_terms_report_their_prior_and_raw_counts(results):
    terms = results["distinctive_terms"].query("group_a == 'socialist_press' and group_b == 'mainstream'")
    assert set(terms.voice) == {"own"} and (terms.prior == "corpus").all()
    top = terms.sort_values("z", ascending=False).head(10)
    assert (top.count_a > 0).all()
    assert ((terms.q_value >= terms.p_value) | terms.p_value.isna()).all()


def test_an_unknown_group_is_refused_with_the_valid_ones(corpus):
    with pytest.raises(ValueError, match=r"group_a='wire_service' is not a group.*socialist_press"):
        measure(corpus, grouping=CONTRAST, group_a="wire_service")


def test_a_grouping_that_covers_no_outlet_gives_empty_contrasts_and_says_why(tmp_path):
    grouping = tmp_path / "other_corpus.csv"
    grouping.write_text("outlet,group\nLe Monde,french_press\n", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"other_corpus.csv covers none of this corpus's outlets.*The Province"):
        results = measure(load_corpus(SEEDS), grouping=grouping, n_boot=0, n_perm=10)
    assert results["differences"].empty and results["distinctive_terms"].empty
    assert "p_value" in results["distinctive_terms"].columns
    estimates = results["estimates"]
    assert "group" not in set(estimates.unit_type) and {"outlet", "document"} <= set(estimates.unit_type)


def test_sentence_scores_are_one_per_sentence_with_a_majority_voice(results, corpus):
    scores = results["sentence_scores"]
    assert len(scores) == len(corpus.sentences)
    assert set(scores.voice) <= {"own", "quoted", "reported"}
    assert (scores.compound == scores.compound_masked).all()  # the default mask is empty
    masked = measure(corpus, mask=["crisis", "threat"], n_boot=0, n_perm=10)["sentence_scores"]
    changed = masked[masked.compound != masked.compound_masked]
    sentences = corpus.sentences.set_index(["doc_id", "sentence_id"]).loc[list(zip(changed.doc_id,
                                                                                   changed.sentence_id)), "text"]
    assert len(changed) > 0 and all(("crisis" in s) or ("threat" in s) for s in sentences)


def test_tables_written_to_disk_match_the_returned_ones(tmp_path, corpus):
    tables = measure(corpus, out=tmp_path, n_boot=50, n_perm=50)
    written = pd.read_csv(tmp_path / "matches.csv", dtype={"doc_id": str})
    assert len(written) == len(tables["matches"])
    assert (tmp_path / "provenance.json").is_file()


def test_term_counts_as_categories_are_the_same_table_and_give_the_same_distinctive_terms(corpus):
    """The pipeline holds term counts as categories (a fifth of the memory): same rows, same order,
    and distinctive terms identical to those of the text columns."""
    from analysis import compare, measures

    docs, sentences, spans = corpus.documents, corpus.sentences, corpus.spans
    text_columns = measures.term_counts(docs, sentences, spans)
    categories = measures.term_counts(docs, sentences, spans, categorical=True)
    labels = ["doc_id", "term", "voice", "section"]
    assert all(isinstance(categories[c].dtype, pd.CategoricalDtype) for c in labels)
    pd.testing.assert_frame_equal(categories.astype({c: text_columns[c].dtype for c in labels}), text_columns)
    assert categories.memory_usage(deep=True).sum() < text_columns.memory_usage(deep=True).sum() / 2
    doc_units = docs[["doc_id", "outlet"]].assign(group=["a", "b", "a", "b", "b"][:len(docs)],
                                                  exclude_body=docs["duplicate_of"] != "")
    for voice in ("own", "quoted", None):
        pd.testing.assert_frame_equal(
            compare.distinctive_terms(categories, doc_units, group_col="group", group_a="a", voice=voice),
            compare.distinctive_terms(text_columns, doc_units, group_col="group", group_a="a", voice=voice))


def test_term_counts_are_every_word_of_each_voice_and_section(corpus):
    """Term counts (the input of distinctive terms) hold every word once: per document, voice and
    section they sum to the word totals, and per document they are the words of the clean text,
    lower-cased except acronyms, with curly apostrophes made straight."""
    from collections import Counter

    from analysis import measures

    docs, sentences, spans = corpus.documents, corpus.sentences, corpus.spans
    terms = measures.term_counts(docs, sentences, spans)
    totals = text_model.word_voice_totals(docs, sentences, spans)
    keys = ["doc_id", "voice", "section"]
    summed = terms.groupby(keys)["count"].sum().sort_index()
    expected = totals.groupby(keys)["n_words"].sum().sort_index()
    pd.testing.assert_series_equal(summed, expected, check_names=False)
    assert terms.equals(terms.sort_values(["doc_id", "term", "voice", "section"], ignore_index=True))
    for doc_id, clean in zip(docs["doc_id"], docs["clean_text"]):
        words = [w.replace("’", "'") for w in text_model.words(clean)]
        want = Counter(w if len(w) > 1 and w.isupper() else w.lower() for w in words)
        got = terms[terms["doc_id"] == doc_id].groupby("term")["count"].sum()
        assert dict(got) == dict(want), doc_id


@pytest.mark.parametrize("rows", [1, 7, 40, 10_000])
def test_attribution_in_blocks_of_matches_joins_into_the_whole_table(matches, corpus, rows):
    """The attribution table a block of seed matches at a time (each speaker looked up across the
    whole spans table) joins, blocks without rows left out, into the table of all matches at once."""
    from analysis import actors

    whole = actors.attribution_verbs(matches, corpus.spans)
    blocks = list(actors.attribution_verbs_in_blocks(matches, corpus.spans, rows))
    assert len(blocks) == -(-len(matches) // rows)
    joined = pd.concat([b for b in blocks if len(b)], ignore_index=True)
    pd.testing.assert_frame_equal(joined, whole, check_exact=True)
    assert (whole["speaker"] != "").any() and len(whole) < len(matches)
