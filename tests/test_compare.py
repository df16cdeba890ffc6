"""Claims of the methods section about analysis.compare, each a test that could fail."""

import functools
import itertools
import math
import operator
from contextlib import nullcontext

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy import sparse

from analysis import compare
from analysis.compare import (
    DIFFERENCE_COLUMNS,
    DISTINCTIVE_COLUMNS,
    ESTIMATE_COLUMNS,
    benjamini_hochberg,
    contrast_all,
    distinctive_terms,
    estimate_rates,
    estimate_sentiment,
    group_differences,
    log_odds_dirichlet,
    permutation_test,
)

# Four articles: two from outlet A (group L), two from outlet B (group R). d4 reposts d3's body
# (exclude_body) under its own headline.
DOCS = pd.DataFrame({
    "doc_id": ["d1", "d2", "d3", "d4"],
    "outlet": ["A", "A", "B", "B"],
    "outlet_group": ["L", "L", "R", "R"],
    "exclude_body": [False, False, False, True],
})
WORDS = pd.DataFrame([
    ("d1", 0, "headline", "own", 5), ("d1", 1, "body", "own", 10), ("d1", 1, "body", "quoted", 4),
    ("d1", 2, "body", "reported", 6),
    ("d2", 0, "headline", "own", 8), ("d2", 1, "body", "own", 20),
    ("d3", 0, "headline", "own", 6), ("d3", 1, "body", "own", 12), ("d3", 1, "body", "quoted", 3),
    ("d4", 0, "headline", "own", 7), ("d4", 1, "body", "own", 12),
], columns=["doc_id", "sentence_id", "section", "voice", "n_words"])
COUNTS = pd.DataFrame([
    ("d1", 0, "loaded", "attack", "regime", "own", "headline", 1),
    ("d1", 1, "loaded", "attack", "regime", "own", "body", 2),
    ("d1", 1, "loaded", "praise", "hero", "quoted", "body", 1),
    ("d1", 2, "hedge", "hedge", "reportedly", "reported", "body", 1),
    ("d2", 1, "loaded", "attack", "thug", "own", "body", 1),
    ("d2", 1, "loaded", "praise", "hero", "own", "body", 1),
    ("d3", 1, "loaded", "attack", "regime", "quoted", "body", 1),
    ("d4", 0, "loaded", "attack", "regime", "own", "headline", 1),
    ("d4", 1, "loaded", "attack", "regime", "own", "body", 1),
], columns=["doc_id", "sentence_id", "lexicon", "category", "term", "voice", "section", "count"])
SCORES = pd.DataFrame([
    ("d1", 0, "headline", "own", -0.6), ("d1", 1, "body", "own", 0.2), ("d1", 2, "body", "reported", 0.0),
    ("d2", 0, "headline", "own", 0.5), ("d2", 1, "body", "own", -0.1),
    ("d3", 0, "headline", "own", 0.3), ("d3", 1, "body", "own", 0.04),
    ("d4", 0, "headline", "own", -0.9), ("d4", 1, "body", "own", 0.04),
], columns=["doc_id", "sentence_id", "section", "voice", "compound"])


def row(table, **where):
    """The one row of table matching where."""
    hit = table
    for col, value in where.items():
        hit = hit.loc[hit[col] == value]
    assert len(hit) == 1, f"{len(hit)} rows match {where}"
    return hit.iloc[0]


def outlet_rates(**kw):
    return estimate_rates(COUNTS, WORDS, DOCS, unit_type="outlet", unit_col="outlet", n_boot=200, **kw)


def test_estimates_have_the_contract_columns():
    assert list(outlet_rates().columns) == ESTIMATE_COLUMNS


def test_rate_divides_by_words_of_the_same_voice_and_section():
    est = outlet_rates()
    # Outlet A, own voice, body: 2 + 1 matches over 10 + 20 own body words.
    assert row(est, unit="A", lexicon="loaded", category="attack", voice="own", section="body")["value"] == (
        pytest.approx(3 * 1000 / 30))
    # Quoted body: 1 match over d1's 4 quoted words (d2 has none).
    assert row(est, unit="A", lexicon="loaded", category="praise", voice="quoted", section="body")["value"] == (
        pytest.approx(1000 / 4))
    # Voice "all", body: the 5 loaded body matches (2 + 1 in d1, 2 in d2) over 10 + 4 + 6 + 20 body words.
    r = row(est, unit="A", lexicon="loaded", category="all", voice="all", section="body")
    assert (r["count"], r["n_words"], r["value"]) == (5, 40, pytest.approx(5 * 1000 / 40))
    # Everything: 6 loaded matches over all 53 words of A.
    assert row(est, unit="A", lexicon="loaded", category="all", voice="all", section="all")["value"] == (
        pytest.approx(6 * 1000 / 53))


def test_single_document_units_resample_sentences_and_warn():
    est = estimate_rates(COUNTS, WORDS, DOCS, unit_type="document", unit_col="doc_id", n_boot=200)
    assert set(est["ci_unit"]) == {"sentence"}
    assert est["warning"].str.startswith("fewer than 5 documents (1)").all()
    assert est["warning"].str.contains("within-article variation only").all()


def test_point_estimates_without_an_interval_carry_no_interval_warning():
    """Document estimates are point estimates by default: a warning about their interval would
    speak of something that is not there; an undefined value is still warned about."""
    est = estimate_rates(COUNTS, WORDS, DOCS, unit_type="document", unit_col="doc_id", n_boot=0)
    assert est["ci_low"].isna().all() and set(est["ci_method"]) == {"none"}
    defined = est["n_words"] > 0
    assert defined.any() and (est.loc[defined, "warning"] == "").all()
    assert est.loc[~defined, "warning"].str.startswith("no words in this voice and section").all()


def test_units_with_fewer_than_five_documents_warn_and_resample_documents():
    est = outlet_rates()
    assert set(est["ci_unit"]) == {"document"}
    assert est["warning"].str.startswith("fewer than 5 documents").all()


def test_drop_copies_leaves_out_a_copys_body_but_keeps_its_headline():
    dropped, kept = outlet_rates(), outlet_rates(dedup="keep")
    cell = {"unit": "B", "lexicon": "loaded", "category": "attack", "voice": "own"}
    # d4's body match and its 12 body words are out; d3's body words remain.
    assert row(dropped, section="body", **cell)[["count", "n_words"]].tolist() == [0, 12]
    assert row(kept, section="body", **cell)[["count", "n_words"]].tolist() == [1, 24]
    # d4's headline stays in either way.
    assert row(dropped, section="headline", **cell)["value"] == pytest.approx(1000 / 13)
    # The copy's own document estimate still counts its body.
    docs = estimate_rates(COUNTS, WORDS, DOCS, unit_type="document", unit_col="doc_id", n_boot=0)
    assert row(docs, **{**cell, "unit": "d4"}, section="body")["count"] == 1


def test_zero_words_give_nan_with_a_warning():
    counts = pd.concat([COUNTS, pd.DataFrame([("d2", 3, "loaded", "attack", "regime", "own", "caption", 1)],
                                             columns=COUNTS.columns)])
    est = estimate_rates(counts, WORDS, DOCS, unit_type="outlet", unit_col="outlet", n_boot=50)
    r = row(est, unit="A", lexicon="loaded", category="attack", voice="own", section="caption")
    assert np.isnan(r["value"]) and r["count"] == 1 and r["warning"].startswith("no words")


def synthetic(n_docs=12, n_outlets=3, seed=1):
    rng = np.random.default_rng(seed)
    docs = pd.DataFrame({"doc_id": [f"x{i:03d}" for i in range(n_docs)],
                         "outlet": [f"o{i % n_outlets}" for i in range(n_docs)], "exclude_body": False})
    words = pd.DataFrame({"doc_id": np.repeat(docs["doc_id"], 6), "sentence_id": np.tile(np.arange(6), n_docs)})
    words["section"] = np.where(words["sentence_id"] == 0, "headline", "body")
    words["voice"] = rng.choice(["own", "quoted"], len(words))
    words["n_words"] = rng.integers(5, 25, len(words))
    counts = words[["doc_id", "sentence_id", "section", "voice"]].assign(
        lexicon="loaded", category=rng.choice(["attack", "praise"], len(words)), term="t",
        count=rng.integers(0, 4, len(words)))
    return docs, words, counts


def test_bootstrap_is_reproducible_and_keyed_by_unit():
    docs, words, counts = synthetic()
    full = estimate_rates(counts, words, docs, unit_type="outlet", unit_col="outlet", n_boot=300, seed=7)
    again = estimate_rates(counts.iloc[::-1], words.sample(frac=1, random_state=3), docs.iloc[::-1],
                           unit_type="outlet", unit_col="outlet", n_boot=300, seed=7)
    pd.testing.assert_frame_equal(full, again)
    # o1 alone (a different partition of the units) gets the very same draws.
    mine = docs["outlet"] == "o1"
    subset = docs.loc[mine, "doc_id"]
    alone = estimate_rates(counts[counts["doc_id"].isin(subset)], words[words["doc_id"].isin(subset)],
                           docs.loc[mine], unit_type="outlet", unit_col="outlet", n_boot=300, seed=7)
    pd.testing.assert_frame_equal(full.loc[full["unit"] == "o1"].reset_index(drop=True), alone)
    other = estimate_rates(counts, words, docs, unit_type="outlet", unit_col="outlet", n_boot=300, seed=8)
    assert not np.allclose(full["ci_low"], other["ci_low"])


def test_bootstrap_interval_contains_the_estimate():
    docs, words, counts = synthetic(n_docs=30)
    est = estimate_rates(counts, words, docs, unit_type="outlet", unit_col="outlet", n_boot=500)
    assert (est["ci_low"] <= est["value"] + 1e-9).all() and (est["value"] <= est["ci_high"] + 1e-9).all()
    assert (est["ci_high"] > est["ci_low"]).any()
    assert est["ci_method"].eq("percentile bootstrap, 500 draws").all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["own", "quoted", "reported"]),
                          st.sampled_from(["headline", "body", "caption"]), st.sampled_from(["a", "b", "c"]),
                          st.integers(1, 4)), min_size=1, max_size=25))
def test_counts_add_up_over_categories_and_voices(matches):
    docs = pd.DataFrame({"doc_id": [f"d{i}" for i in range(6)], "outlet": list("XXYYYZ"), "exclude_body": False})
    counts = pd.DataFrame([(f"d{d}", 0, "loaded", c, "t", v, s, n) for d, v, s, c, n in matches],
                          columns=COUNTS.columns)
    words = counts[["doc_id", "sentence_id", "section", "voice"]].drop_duplicates().assign(n_words=10)
    est = estimate_rates(counts, words, docs, unit_type="outlet", unit_col="outlet", n_boot=0)
    keys = ["unit", "voice", "section"]
    by_cat = est[est["category"] != "all"].groupby(keys)["count"].sum()
    total = est[est["category"] == "all"].set_index(keys)["count"]
    pd.testing.assert_series_equal(by_cat.sort_index(), total.sort_index(), check_names=False)
    keys = ["unit", "category", "section"]
    by_voice = est[est["voice"] != "all"].groupby(keys)["count"].sum()
    total = est[est["voice"] == "all"].set_index(keys)["count"]
    pd.testing.assert_series_equal(by_voice.sort_index(), total.sort_index(), check_names=False)
    # Voice "all" rows: each match counts in its category and "all", its section and "all".
    assert total.sum() == 4 * sum(n for *_, n in matches)


def test_sentiment_means_and_shares_over_sentences():
    est = estimate_sentiment(SCORES, DOCS, unit_type="group", unit_col="outlet_group", n_boot=100)
    r = row(est, unit="L", measure="mean_compound", voice="all", section="all")
    assert r["value"] == pytest.approx((-0.6 + 0.2 + 0.0 + 0.5 - 0.1) / 5) and r["count"] == 5
    # Group R under drop_copies: d4's body sentence is out.
    assert row(est, unit="R", measure="share_negative", voice="own", section="all")["value"] == pytest.approx(1 / 3)
    assert row(est, unit="L", measure="share_positive", voice="own", section="headline")["value"] == 0.5


def test_permutation_exact_one_against_three_documents():
    p, min_p, method = permutation_test([10.0], [1.0, 2.0, 3.0])
    # Four labelings; only the observed one has |difference| >= 8.
    assert (p, min_p) == (0.25, 0.25) and "exact" in method and "4 labelings" in method


def test_permutation_exact_three_against_three_documents():
    p, min_p, method = permutation_test([4.0, 5.0, 6.0], [1.0, 2.0, 3.0])
    # C(6, 3) = 20 labelings; the observed one and its mirror are the two most extreme.
    assert "20 labelings" in method
    assert p == pytest.approx(2 / 20) and min_p == pytest.approx(2 / 20)
    p_null, _, _ = permutation_test([1.0, 4.0, 5.0], [2.0, 3.0, 6.0])
    assert p_null >= 0.5


def test_permutation_monte_carlo_is_reproducible_with_the_seed():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.5, 1, 30), rng.normal(0, 1, 40)
    first, second = permutation_test(a, b, n_perm=999, seed=5), permutation_test(a, b, n_perm=999, seed=5)
    assert first == second
    assert first[1] == 1 / 1000 and "Monte Carlo" in first[2]
    assert permutation_test(a, b, n_perm=999, seed=6)[0] != first[0]


def _shuffle_p(a, b, n_shuffles, seed=1):
    """Reference permutation p-value written out plainly: shuffle all values, split, compare."""
    rng = np.random.default_rng(seed)
    values, n_a = np.concatenate([a, b]), len(a)
    observed = abs(np.mean(a) - np.mean(b))
    hits = 0
    for _ in range(n_shuffles):
        v = rng.permutation(values)
        hits += abs(v[:n_a].mean() - v[n_a:].mean()) >= observed - 1e-12
    return (1 + hits) / (1 + n_shuffles)


def test_monte_carlo_on_mostly_zero_values_agrees_with_the_exact_test():
    # Documents without a match add nothing to a group's sum, so the draws are made on the others:
    # the p-value must still be that of relabeling every document. C(16, 5) = 4368 labelings.
    a = np.array([0, 0, 3.0, 0, 1.0])
    b = np.array([0, 0, 0, 1.0, 0, 0, 0, 0, 0, 2.0, 0])
    exact, _, method_exact = permutation_test(a, b, n_perm=5000)
    monte_carlo, min_p, method = permutation_test(a, b, n_perm=4000, seed=3)
    assert "exact" in method_exact and "Monte Carlo" in method and min_p == 1 / 4001
    assert monte_carlo == pytest.approx(exact, abs=0.03)  # ~4 standard errors of 4,000 draws


def test_large_groups_use_the_normal_approximation_which_agrees_with_shuffling():
    rng = np.random.default_rng(11)
    a, b = rng.gamma(2.0, 1.1, 150), rng.gamma(2.0, 1.0, 300)  # skewed, as per-document rates are
    p, min_p, method = permutation_test(a, b)
    assert "normal approximation" in method and min_p == 0
    assert p == pytest.approx(_shuffle_p(a, b, 4000), abs=0.03)
    assert permutation_test(a + 0.5, b)[0] < p  # a larger difference, a smaller p


def test_few_documents_deciding_a_large_test_fall_back_to_monte_carlo():
    # 450 documents, 8 with a match: the normal curve would misstate the tail, so relabel instead.
    a, b = np.zeros(150), np.zeros(300)
    a[:5], b[:3] = 4.0, 4.0
    p, min_p, method = permutation_test(a, b, seed=2)
    assert "Monte Carlo" in method and min_p == 1 / 10001
    assert p == pytest.approx(_shuffle_p(a, b, 4000), abs=0.03)
    # Groups under NORMAL_MIN_DOCS documents never use it.
    small = permutation_test(rng_values := np.arange(60.0), rng_values[::-1] + 1)
    assert "Monte Carlo" in small[2]


def _large_outlets(n_docs=400, seed=4):
    """Two outlets of n_docs one-sentence documents each: a common category and a rare one."""
    rng = np.random.default_rng(seed)
    ids = [f"x{i:04d}" for i in range(2 * n_docs)]
    words = rng.integers(150, 900, len(ids))
    common = rng.poisson(words * 0.01 * rng.gamma(0.5, 2.0, len(ids)))
    rare = (rng.random(len(ids)) < 0.02).astype(int)
    docs = pd.DataFrame({"doc_id": ids, "outlet": np.repeat(["P", "Q"], n_docs), "outlet_group": "G",
                         "exclude_body": False})
    totals = pd.DataFrame({"doc_id": ids, "sentence_id": 1, "section": "body", "voice": "own", "n_words": words})
    counts = pd.concat([
        pd.DataFrame({"doc_id": ids, "sentence_id": 1, "lexicon": "loaded", "category": category, "voice": "own",
                      "section": "body", "count": values})
        for category, values in (("common", common), ("rare", rare))])
    return docs, totals, counts[counts["count"] > 0]


def test_large_units_use_a_linearized_interval_close_to_the_bootstrap(monkeypatch):
    docs, totals, counts = _large_outlets()
    cell = {"unit": "P", "lexicon": "loaded", "voice": "own", "section": "body"}
    fast = estimate_rates(counts, totals, docs, unit_type="outlet", unit_col="outlet", n_boot=4000)
    monkeypatch.setattr(compare, "LINEAR_MIN_CLUSTERS", 10**9)
    slow = estimate_rates(counts, totals, docs, unit_type="outlet", unit_col="outlet", n_boot=4000)
    linear, boot = row(fast, category="common", **cell), row(slow, category="common", **cell)
    assert "linearized" in linear["ci_method"] and "bootstrap" in boot["ci_method"]
    width = boot["ci_high"] - boot["ci_low"]
    assert linear["ci_low"] == pytest.approx(boot["ci_low"], abs=0.1 * width)
    assert linear["ci_high"] == pytest.approx(boot["ci_high"], abs=0.1 * width)
    # About 8 of 400 documents have a rare match: too few for the normal curve, so the bootstrap
    # stays, with the very draws it had before (draws are keyed by unit, not by column).
    rare, rare_boot = row(fast, category="rare", **cell), row(slow, category="rare", **cell)
    assert "bootstrap" in rare["ci_method"]
    assert (rare["ci_low"], rare["ci_high"]) == (rare_boot["ci_low"], rare_boot["ci_high"])


def test_linearized_standard_error_is_the_ratio_estimators():
    # Written out: se^2 = m / (m - 1) * sum_i (num_i - R den_i)^2 / (sum den)^2.
    rng = np.random.default_rng(2)
    num, den = rng.poisson(3.0, 250).astype(float), rng.integers(50, 400, 250).astype(float)
    ratio = num.sum() / den.sum()
    expected = math.sqrt(250 / 249 * ((num - ratio * den) ** 2).sum()) / den.sum()
    num_u = sparse.csr_array(num[:, None] * np.eye(1, compare._N_CELLS, 3))
    den_u = sparse.csr_array(den[:, None] * np.eye(1, compare._N_CELLS, 3))
    se, applies = compare._linearized(num_u, den_u, np.array([3]), num_u.sum(axis=0), den_u.sum(axis=0))
    assert se[0] == pytest.approx(expected, rel=1e-9) and applies[0]


def test_bootstrap_draws_are_ratios_of_resampled_sums_written_out():
    # Draw k resamples the m clusters rng.integers(0, m, size=(b, m))[k]; its ratio is the sum of
    # the drawn clusters' numerators over the sum of their denominators, in the column's cell.
    rng = np.random.default_rng(7)
    m, n_boot, n_q = 37, 300, 2
    num = sparse.random_array((m, n_q * compare._N_CELLS), density=0.2, random_state=rng, format="csr") * 10
    den_dense = np.zeros((m, compare._N_CELLS))
    den_dense[:, [3, 9, 21]] = rng.integers(1, 50, (m, 3))
    cols = np.array([3, 9, compare._N_CELLS + 3, compare._N_CELLS + 21])
    draws = compare._ratio_draws(num, sparse.csr_array(den_dense), cols, n_boot, np.random.default_rng(11))
    picks = np.random.default_rng(11).integers(0, m, size=(n_boot, m))
    num_dense = num.toarray()
    expected = num_dense[picks][:, :, cols].sum(axis=1) / den_dense[picks][:, :, cols % compare._N_CELLS].sum(axis=1)
    np.testing.assert_allclose(draws, expected.T, rtol=1e-12)
    weights = compare._resample_weights(np.random.default_rng(11), m, n_boot)
    assert weights.shape == (m, n_boot) and (weights.sum(axis=0) == m).all()
    expected_weights = np.stack([np.bincount(draw, minlength=m) for draw in picks], axis=1).astype(float)
    np.testing.assert_array_equal(weights, expected_weights)
    assert weights.flags.c_contiguous  # the layout the matrix products were measured and summed with


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.one_of(st.floats(-5, 5), st.sampled_from([0.0, 1.0, np.nan, np.inf])), min_size=7,
                         max_size=7), max_size=12),
       st.sampled_from([0.5, 0.9, 0.95]))
def test_percentile_intervals_are_numpys_nanquantiles_to_the_bit(rows, confidence):
    # Rows with and without NaN draws (a zero denominator), all-NaN rows and infinite draws: each
    # row's interval is the one np.nanquantile gives that row alone.
    draws = np.array(rows, float).reshape(len(rows), 7)
    before = draws.copy()
    lo, hi = compare._nanquantiles(draws, confidence)
    tail = (1 - confidence) / 2
    for i, row in enumerate(draws):
        with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning) if np.isnan(row).all() else nullcontext():
            expected = np.nanquantile(row, [tail, 1 - tail])
        np.testing.assert_array_equal([lo[i], hi[i]], expected)
    np.testing.assert_array_equal(draws, before)  # the caller's draws are left as they were


def test_large_group_differences_use_the_linearized_interval():
    docs, totals, counts = _large_outlets()
    scores = pd.DataFrame({"doc_id": docs["doc_id"], "sentence_id": 1, "section": "body", "voice": "own",
                           "compound": np.linspace(-0.9, 0.9, len(docs))})
    diff = group_differences(counts, totals, scores, docs, group_col="outlet", group_a="P", group_b="Q",
                             n_boot=500, n_perm=500)
    common = row(diff, measure="rate_per_1k", category="common", voice="own", section="body")
    assert "linearized" in common["ci_method"] and common["ci_low"] < common["difference"] < common["ci_high"]
    assert "bootstrap" in row(diff, measure="rate_per_1k", category="rare", voice="own", section="body")["ci_method"]
    # Compound scores rise along the documents, so P (the first half) is lower than Q.
    compound = row(diff, measure="mean_compound", voice="own", section="body")
    assert compound["ci_high"] < 0 and "linearized" in compound["ci_method"]


def test_group_difference_is_pooled_rate_a_minus_pooled_rate_b():
    diff = group_differences(COUNTS, WORDS, SCORES, DOCS, group_col="outlet_group", group_a="L", group_b="R",
                             n_boot=200, n_perm=1000)
    assert list(diff.columns) == DIFFERENCE_COLUMNS
    est = estimate_rates(COUNTS, WORDS, DOCS, unit_type="group", unit_col="outlet_group", n_boot=0)
    cell = {"lexicon": "loaded", "category": "all", "voice": "all", "section": "all"}
    r = row(diff, measure="rate_per_1k", **cell)
    assert r["difference"] == pytest.approx(row(est, unit="L", **cell)["value"] - row(est, unit="R", **cell)["value"])
    # Two documents against two: C(4, 2) = 6 labelings, equal sizes, so min_p = 2 / 6.
    assert r["min_p"] == pytest.approx(2 / 6) and r["p_value"] >= r["min_p"]
    assert (r["n_docs_a"], r["n_docs_b"]) == (2, 2) and r["ci_low"] <= r["difference"] <= r["ci_high"]
    s = row(diff, measure="mean_compound", voice="all", section="all")
    assert s["difference"] == pytest.approx((-0.6 + 0.2 + 0.0 + 0.5 - 0.1) / 5 - (0.3 + 0.04 - 0.9) / 3)


def test_contrast_all_is_each_group_against_the_rest_plus_the_pair():
    diff = contrast_all(COUNTS, WORDS, SCORES, DOCS, group_col="outlet", pair=("B", "A"), n_boot=50, n_perm=100)
    pairs = set(map(tuple, diff[["group_a", "group_b"]].drop_duplicates().to_numpy()))
    assert pairs == {("A", "rest"), ("B", "rest"), ("B", "A")}


def test_log_odds_matches_a_hand_worked_example():
    a, b = {"x": 3, "y": 1, "z": 0}, {"x": 1, "y": 2, "z": 3}
    prior = {"x": 4, "y": 3, "z": 3}  # pooled counts: alpha_0 = 10, alpha_w = prior_w
    out = log_odds_dirichlet(a, b, prior).set_index("term")
    # n_a = 4, n_b = 6.
    delta_x = math.log((3 + 4) / (4 + 10 - 3 - 4)) - math.log((1 + 4) / (6 + 10 - 1 - 4))
    delta_y = math.log((1 + 3) / (4 + 10 - 1 - 3)) - math.log((2 + 3) / (6 + 10 - 2 - 3))
    delta_z = math.log((0 + 3) / (4 + 10 - 0 - 3)) - math.log((3 + 3) / (6 + 10 - 3 - 3))
    assert delta_x == pytest.approx(math.log(11 / 5))
    assert out.loc["x", "log_odds"] == pytest.approx(delta_x)
    assert out.loc["y", "log_odds"] == pytest.approx(delta_y)
    assert out.loc["z", "log_odds"] == pytest.approx(delta_z)
    assert out.loc["x", "z"] == pytest.approx(delta_x / math.sqrt(1 / 7 + 1 / 5))
    assert out.loc["z", "z"] == pytest.approx(delta_z / math.sqrt(1 / 3 + 1 / 6))
    assert out.loc["x", "p_value"] == pytest.approx(math.erfc(abs(out.loc["x", "z"]) / math.sqrt(2)))
    assert list(out.index) == ["x", "y", "z"] and (out["alpha_0"] == 10).all() and (out["prior"] == "corpus").all()
    # A smaller alpha_0 scales the prior down: alpha_x = 5 * 4 / 10 = 2.
    small = log_odds_dirichlet(a, b, prior, alpha_0=5).set_index("term")
    assert small.loc["x", "log_odds"] == pytest.approx(math.log(5 / 4) - math.log(3 / 8))


def test_benjamini_hochberg_matches_a_hand_worked_example():
    # Sorted p: 0.01, 0.03, 0.04, 0.5; m * p / rank: 0.04, 0.06, 0.0533, 0.5; running minimum from the top.
    q = benjamini_hochberg([0.04, 0.01, 0.5, 0.03, np.nan])
    np.testing.assert_allclose(q[:4], [0.16 / 3, 0.04, 0.5, 0.16 / 3])
    assert np.isnan(q[4])
    scipy_stats = pytest.importorskip("scipy.stats")
    if hasattr(scipy_stats, "false_discovery_control"):
        p = np.random.default_rng(2).uniform(0, 0.2, 50)
        np.testing.assert_allclose(benjamini_hochberg(p), scipy_stats.false_discovery_control(p))


def test_distinctive_terms_use_the_whole_corpus_after_drop_copies_as_prior():
    terms = pd.DataFrame([
        ("d1", "regime", "own", "body", 3), ("d2", "regime", "own", "body", 1), ("d3", "hero", "own", "body", 2),
        ("d4", "hero", "own", "body", 5), ("d4", "regime", "own", "headline", 1), ("d3", "said", "quoted", "body", 4),
    ], columns=["doc_id", "term", "voice", "section", "count"])
    out = distinctive_terms(terms, DOCS, group_col="outlet_group", group_a="L").set_index("term")
    assert list(out.reset_index().columns) == ["term"] + [c for c in DISTINCTIVE_COLUMNS if c != "term"]
    # Own voice only; d4's body is a copy: prior regime = 3 + 1 + 1, hero = 2, so alpha_0 = 7.
    assert (out["alpha_0"] == 7).all() and set(out.index) == {"regime", "hero"}
    assert out.loc["regime", ["count_a", "count_b"]].tolist() == [4, 1]
    assert out.loc["regime", "z"] > 0 > out.loc["hero", "z"]
    assert (out["group_b"] == "rest").all() and (out["voice"] == "own").all() and (out["section"] == "all").all()
    # Term counts held as categories, in any category order, give the same table.
    unsorted = terms.astype({"term": pd.CategoricalDtype(["said", "regime", "hero", "unused"]),
                             "doc_id": "category", "voice": "category", "section": "category"})
    pd.testing.assert_frame_equal(distinctive_terms(unsorted, DOCS, group_col="outlet_group", group_a="L"),
                                  out.reset_index()[DISTINCTIVE_COLUMNS])


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="unit_type='city'"):
        estimate_rates(COUNTS, WORDS, DOCS, unit_type="city", unit_col="outlet")
    with pytest.raises(ValueError, match=r"counts.voice has unknown value\(s\) \['shouted'\]"):
        estimate_rates(COUNTS.assign(voice="shouted"), WORDS, DOCS, unit_type="outlet", unit_col="outlet")
    with pytest.raises(ValueError, match="group_a='M' is not a value of outlet_group"):
        group_differences(COUNTS, WORDS, SCORES, DOCS, group_col="outlet_group", group_a="M")
    with pytest.raises(ValueError, match="word_totals lacks column"):
        estimate_rates(COUNTS, WORDS.drop(columns="n_words"), DOCS, unit_type="outlet", unit_col="outlet")


@given(st.lists(st.tuples(st.sampled_from(["regime", "coup", "US", "us", "’s"]), st.integers(0, 50),
                          st.sampled_from(["", "a", "b"])), max_size=40),
       st.sampled_from(["int64", "float64"]))
def test_term_sums_equal_group_by_sums_per_term_and_side(rows, dtype):
    terms = pd.Series([t for t, _, _ in rows], dtype=str)
    counts = pd.Series([c for _, c, _ in rows], dtype=dtype)
    sides = np.array([s for _, _, s in rows], dtype=object)
    codes = {"": compare._NEITHER, "a": compare._SIDE_A, "b": compare._SIDE_B}
    prior, count_a, count_b = compare._term_sums(terms, counts, np.array([codes[s] for s in sides], np.int8))
    frame = pd.DataFrame({"term": terms, "count": counts, "side": sides})
    expected = frame.groupby("term")["count"].sum()
    assert prior.to_dict() == expected.to_dict() and list(prior.index) == sorted(expected.index)
    for name, got in (("a", count_a), ("b", count_b)):
        assert got.to_dict() == frame[frame["side"] == name].groupby("term")["count"].sum().to_dict()
    assert prior.sum() == counts.sum()  # every count is in the prior once


def test_term_sums_of_nullable_counts_skip_missing_values_as_a_group_by_does():
    terms = pd.Series(["coup", "coup", "regime"], dtype=str)
    counts = pd.Series([2, pd.NA, 5], dtype="Int64")
    prior, count_a, count_b = compare._term_sums(terms, counts, np.array([compare._SIDE_A, compare._SIDE_A,
                                                                                compare._SIDE_B], np.int8))
    assert prior.to_dict() == {"coup": 2, "regime": 5}
    assert count_a.to_dict() == {"coup": 2} and count_b.to_dict() == {"regime": 5}


def _ratio_by_copies(counts, word_totals, scores, doc_units, drop_copies):
    """The ratio tables as first written: the kept rows copied, then their labels and codes
    (the definition the coded `_rate_ratio` and `_sentiment_ratio` must equal)."""
    if drop_copies:
        counts, word_totals = (compare.drop_copy_bodies(t, doc_units) for t in (counts, word_totals))
    pairs = counts[["lexicon", "category"]].drop_duplicates()
    labels = pd.concat([pd.DataFrame({"lexicon": pd.unique(pairs["lexicon"]), "category": "all"}), pairs],
                       ignore_index=True)
    labels = labels.iloc[np.lexsort((labels["category"].astype(str), labels["category"] != "all",
                                     labels["lexicon"].astype(str)))].reset_index(drop=True)
    q = pd.Series(np.arange(len(labels)), index=pd.MultiIndex.from_frame(labels))
    v, s = compare._codes(counts["voice"], "v", compare.VOICES), compare._codes(counts["section"], "s", compare.SECTIONS)
    keys = counts[["doc_id", "sentence_id"]]
    q_cat = q.reindex(pd.MultiIndex.from_frame(counts[["lexicon", "category"]])).to_numpy()
    q_all = q.reindex(pd.MultiIndex.from_arrays([counts["lexicon"], np.full(len(counts), "all")])).to_numpy()
    num = pd.concat([keys.assign(q=q_cat, v=v, s=s, value=counts["count"].to_numpy(float)),
                     keys.assign(q=q_all, v=v, s=s, value=counts["count"].to_numpy(float))], ignore_index=True)
    den = word_totals[["doc_id", "sentence_id"]].assign(
        v=compare._codes(word_totals["voice"], "v", compare.VOICES),
        s=compare._codes(word_totals["section"], "s", compare.SECTIONS), value=word_totals["n_words"].to_numpy(float))
    scores = scores.loc[scores["compound"].notna()]
    if drop_copies:
        scores = compare.drop_copy_bodies(scores, doc_units)
    compound = scores["compound"].to_numpy(float)
    keys = scores[["doc_id", "sentence_id"]].assign(v=compare._codes(scores["voice"], "v", compare.VOICES),
                                                    s=compare._codes(scores["section"], "s", compare.SECTIONS))
    parts = [compound, (compound <= compare.NEGATIVE_AT).astype(float), (compound >= compare.POSITIVE_AT).astype(float)]
    sentiment = pd.concat([keys.assign(q=i, value=part) for i, part in enumerate(parts)], ignore_index=True)
    return labels, num, den, sentiment, keys.assign(value=1.0)


_ROW = st.tuples(st.sampled_from(["d1", "d2", "d10"]), st.integers(0, 4), st.sampled_from(["loaded", "hedges"]),
                 st.sampled_from(["regime", "label", "may"]), st.sampled_from(compare.VOICES),
                 st.sampled_from(["headline", "body"]), st.integers(1, 9))


@settings(max_examples=40, deadline=None)
@given(st.lists(_ROW, min_size=1, max_size=30), st.lists(_ROW, max_size=30), st.booleans(),
       st.lists(st.one_of(st.none(), st.floats(-1, 1)), min_size=1, max_size=30))
def test_ratio_tables_taken_as_codes_equal_the_tables_of_the_kept_rows_copied(rows, words, drop_copies, compounds):
    """The rate and sentiment ratios hold the same rows, in the same order, with the same labels,
    codes and values as the tables built from copies of the kept rows; doc_id is held as categories."""
    columns = ["doc_id", "sentence_id", "lexicon", "category", "voice", "section", "count"]
    counts = pd.DataFrame(rows, columns=columns).astype({"doc_id": "str", "lexicon": "str", "category": "str"})
    word_totals = pd.DataFrame(rows + words, columns=columns).rename(columns={"count": "n_words"})
    scores = word_totals[["doc_id", "sentence_id", "voice", "section"]].assign(
        compound=(compounds * (len(word_totals) // len(compounds) + 1))[:len(word_totals)])
    doc_units = pd.DataFrame({"doc_id": ["d1", "d2", "d10"], "exclude_body": [False, True, False]})
    labels, num, den, sentiment, sentiment_den = _ratio_by_copies(counts, word_totals, scores, doc_units, drop_copies)
    rate = compare._rate_ratio(counts, word_totals, doc_units, drop_copies=drop_copies)
    mood = compare._sentiment_ratio(scores, doc_units, drop_copies=drop_copies, score_col="compound")
    pd.testing.assert_frame_equal(rate.labels[["lexicon", "category"]], labels, check_dtype=False)
    for got, expected in ((rate.num, num), (rate.den, den), (mood.num, sentiment), (mood.den, sentiment_den)):
        assert isinstance(got["doc_id"].dtype, pd.CategoricalDtype)
        assert got["doc_id"].astype(str).tolist() == expected["doc_id"].astype(str).tolist()
        expected = expected.drop(columns="doc_id")[got.columns[1:]].reset_index(drop=True)  # index: not read
        pd.testing.assert_frame_equal(got.drop(columns="doc_id"), expected, check_dtype=False)


_SENTENCE = st.tuples(st.integers(0, 7), st.integers(0, 3), st.sampled_from(compare.VOICES),
                      st.sampled_from(["headline", "body"]), st.integers(0, 30),
                      st.lists(st.tuples(st.sampled_from(["loaded", "hedges"]), st.sampled_from(["attack", "may"]),
                                         st.integers(1, 3)), max_size=2),
                      st.one_of(st.none(), st.floats(-1, 1)))


def _tables_of(docs: list, sentences: list):
    """doc_units, counts, word_totals and sentence_scores of drawn documents (outlet, group, copy) and
    sentences (document, sentence, voice, section, words, matches, compound)."""
    doc_units = pd.DataFrame(docs, columns=["outlet", "outlet_group", "exclude_body"]).assign(
        doc_id=[f"d{i}" for i in range(len(docs))])
    rows = [(f"d{d % len(docs)}", s, v, sec, n, m, c) for d, s, v, sec, n, m, c in sentences]
    words = pd.DataFrame([r[:5] for r in rows], columns=["doc_id", "sentence_id", "voice", "section", "n_words"])
    counts = pd.DataFrame([(d, s, lex, cat, "t", v, sec, k) for d, s, v, sec, _, matches, _ in rows
                           for lex, cat, k in matches],
                          columns=["doc_id", "sentence_id", "lexicon", "category", "term", "voice", "section", "count"])
    scores = words.drop(columns="n_words").assign(compound=[r[6] for r in rows])
    return doc_units, counts, words, scores


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(["L", "R", None]), st.booleans()),
                min_size=2, max_size=8),
       st.lists(_SENTENCE, min_size=1, max_size=40), st.sampled_from(compare.DEDUP))
def test_estimates_and_contrasts_from_document_sums_are_those_from_the_rows(docs, sentences, dedup):
    """Per-document sums (`document_sums`) give the outlet and group estimates and the contrasts the
    row tables give, to the bit: units of one document (their sentences resampled) included."""
    doc_units, counts, words, scores = _tables_of(docs, sentences)
    sums = compare.document_sums(counts, words, scores, doc_units, dedup=dedup)
    options = {"n_boot": 30, "seed": 3, "dedup": dedup}
    for unit in ("outlet", "outlet_group"):
        pd.testing.assert_frame_equal(
            estimate_rates(counts, words, doc_units, unit_type="outlet", unit_col=unit, sums=sums["rates"], **options),
            estimate_rates(counts, words, doc_units, unit_type="outlet", unit_col=unit, **options), check_exact=True)
        pd.testing.assert_frame_equal(
            estimate_sentiment(scores, doc_units, unit_type="group", unit_col=unit, sums=sums["compound"], **options),
            estimate_sentiment(scores, doc_units, unit_type="group", unit_col=unit, **options), check_exact=True)
    if {"L", "R"} <= set(doc_units["outlet_group"]):
        with pytest.warns(UserWarning) if doc_units["outlet_group"].isna().any() else nullcontext():
            summed = group_differences(counts, words, scores, doc_units, group_col="outlet_group", group_a="L",
                                       n_perm=50, sums=sums, **options)
        with pytest.warns(UserWarning) if doc_units["outlet_group"].isna().any() else nullcontext():
            direct = group_differences(counts, words, scores, doc_units, group_col="outlet_group", group_a="L",
                                       n_perm=50, **options)
        pd.testing.assert_frame_equal(summed, direct, check_exact=True)


def test_with_document_sums_no_row_table_is_read_unless_a_unit_has_one_document(monkeypatch):
    docs, words, counts = synthetic()  # three outlets of four documents
    docs = docs.assign(outlet_group=np.where(docs["outlet"] == "o0", "L", "R"))
    scores = words[["doc_id", "sentence_id", "section", "voice"]].assign(
        compound=np.random.default_rng(2).uniform(-1, 1, len(words)))
    sums = compare.document_sums(counts, words, scores, docs)
    expected = estimate_rates(counts, words, docs, unit_type="outlet", unit_col="outlet", n_boot=50)
    difference = group_differences(counts, words, scores, docs, group_col="outlet_group", group_a="L", n_boot=50,
                                   n_perm=100)
    built = []

    def spy(name):
        original = getattr(compare, name)
        return lambda *a, **k: built.append(name) or original(*a, **k)

    for name in ("_rate_ratio", "_sentiment_ratio"):
        monkeypatch.setattr(compare, name, spy(name))
    got = estimate_rates(counts, words, docs, unit_type="outlet", unit_col="outlet", n_boot=50, sums=sums["rates"])
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    pd.testing.assert_frame_equal(group_differences(counts, words, scores, docs, group_col="outlet_group",
                                                    group_a="L", n_boot=50, n_perm=100, sums=sums),
                                  difference, check_exact=True)
    assert built == []
    one = docs.assign(outlet=np.where(docs["doc_id"] == "x000", "alone", docs["outlet"]))
    alone = estimate_rates(counts, words, one, unit_type="outlet", unit_col="outlet", n_boot=50, sums=sums["rates"])
    assert built == ["_rate_ratio"]  # the one-document outlet's sentences, from the row tables
    assert row(alone, unit="alone", lexicon="loaded", category="all", voice="all", section="all")["ci_unit"] == "sentence"


def test_document_sums_of_another_measure_or_dedup_rule_are_refused():
    sums = compare.document_sums(COUNTS, WORDS, SCORES, DOCS)
    with pytest.raises(ValueError, match="drop_copies=False"):
        outlet_rates(dedup="keep", sums=sums["rates"])
    with pytest.raises(ValueError, match="'compound'.*not 'rates'"):
        outlet_rates(sums=sums["compound"])
    with pytest.raises(ValueError, match="compound_masked"):
        group_differences(COUNTS, WORDS, SCORES.assign(compound_masked=SCORES["compound"]), DOCS,
                          group_col="outlet_group", group_a="L", score_col="compound_masked", sums=sums)
    with pytest.raises(ValueError, match="categories"):
        outlet_rates(sums=sums["rates"], categories=[("loaded", "fear")])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["d1", "d2", "d3", "d4", "d9"]), st.sampled_from(["regime", "hero", "said"]),
                          st.sampled_from(compare.VOICES), st.sampled_from(["headline", "body"]), st.integers(0, 9)),
                max_size=25),
       st.integers(1, 6), st.sampled_from([None, "own", "quoted"]), st.sampled_from([None, "body"]),
       st.sampled_from(compare.DEDUP))
def test_distinctive_terms_summed_in_blocks_are_those_summed_at_once(rows, block, voice, section, dedup):
    """Term counts summed a block of rows at a time give the table of all rows summed at once (the
    categorical path and the group-by of plain strings), whatever the block size."""
    terms = pd.DataFrame(rows, columns=["doc_id", "term", "voice", "section", "count"]).astype(
        {"doc_id": "category", "term": pd.CategoricalDtype(["said", "regime", "hero", "unused"]),
         "voice": "category", "section": "category"})
    docs = pd.concat([DOCS, pd.DataFrame({"doc_id": ["d9"], "outlet": ["C"], "outlet_group": [None],
                                          "exclude_body": [False]})], ignore_index=True)
    options = {"group_col": "outlet_group", "group_a": "L", "voice": voice, "section": section, "dedup": dedup}

    def outcome(table):
        """The table, or the error it raises (no term kept with a positive count)."""
        try:
            with pytest.warns(UserWarning, match="no outlet_group"):
                return distinctive_terms(table, docs, **options)
        except ValueError as error:
            return str(error)

    original = compare._TERM_BLOCK
    try:
        compare._TERM_BLOCK = block
        blocked = outcome(terms)
    finally:
        compare._TERM_BLOCK = original
    whole = outcome(terms.astype({"term": str}))
    if isinstance(whole, str):
        assert blocked == whole
    else:
        pd.testing.assert_frame_equal(blocked, whole, check_exact=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["d1", "d2", "d3", "d4", "d5", "d9"]),
                          st.sampled_from(["regime", "hero", "said"]), st.sampled_from(compare.VOICES),
                          st.sampled_from(["headline", "body"]), st.integers(0, 9)), max_size=25),
       st.lists(st.integers(1, 24), max_size=3), st.sampled_from([None, "own", "quoted"]),
       st.sampled_from([None, "body"]), st.sampled_from(compare.DEDUP),
       st.sampled_from([("L", compare.REST), ("R", "S"), ("S", "L")]))
def test_distinctive_terms_from_group_term_sums_are_those_from_the_rows(rows, cuts, voice, section, dedup, pair):
    """Term counts summed per group (`group_term_sums`), in any blocks of rows added up, give the
    distinctive terms (or the error) of the rows themselves, for a group against the rest and for a
    pair, with documents of no group in the prior only."""
    terms = pd.DataFrame(rows, columns=["doc_id", "term", "voice", "section", "count"]).astype(
        {"doc_id": "category", "term": pd.CategoricalDtype(["said", "regime", "hero", "unused"]),
         "voice": "category", "section": "category", "count": "int64"})
    docs = pd.concat([DOCS, pd.DataFrame({"doc_id": ["d5", "d9"], "outlet": ["C", "C"], "outlet_group": ["S", None],
                                          "exclude_body": [True, False]})], ignore_index=True)
    options = {"group_col": "outlet_group", "voice": voice, "section": section, "dedup": dedup}
    bounds = [0, *sorted(c for c in cuts if c < len(terms)), len(terms)]
    blocks = [compare.group_term_sums(terms.iloc[a:b], docs, **options) for a, b in itertools.pairwise(bounds)]
    sums = functools.reduce(operator.add, blocks)
    assert sums.totals.sum() == compare.group_term_sums(terms, docs, **options).totals.sum()

    def outcome(**extra):
        try:
            with pytest.warns(UserWarning, match="no outlet_group"):
                return distinctive_terms(terms, docs, group_a=pair[0], group_b=pair[1], **options, **extra)
        except ValueError as error:
            return str(error)

    from_rows, from_sums = outcome(), outcome(sums=sums)
    if isinstance(from_rows, str):
        assert from_sums == from_rows
    else:
        pd.testing.assert_frame_equal(from_sums, from_rows, check_exact=True)


def test_group_term_sums_of_other_options_are_refused_and_large_or_plain_tables_get_none(monkeypatch):
    terms = pd.DataFrame({"doc_id": ["d1", "d3"], "term": pd.Categorical(["regime", "hero"]), "voice": ["own", "own"],
                          "section": ["body", "body"], "count": [2, 3]})
    sums = compare.group_term_sums(terms, DOCS, group_col="outlet_group")
    assert sums.groups == ("L", "R") and sums.totals.tolist() == [[0, 2], [3, 0], [0, 0]]
    with pytest.raises(ValueError, match="voice='quoted'"):
        distinctive_terms(terms, DOCS, group_col="outlet_group", group_a="L", voice="quoted", sums=sums)
    with pytest.raises(ValueError, match="cannot be added"):
        sums + compare.group_term_sums(terms, DOCS, group_col="outlet_group", dedup="keep")
    assert compare.group_term_sums(terms.astype({"term": str}), DOCS, group_col="outlet_group") is None
    monkeypatch.setattr(compare, "GROUP_TERM_CELLS", 5)
    assert compare.group_term_sums(terms, DOCS, group_col="outlet_group") is None


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 400), st.integers(1, 6), st.integers(0, 2 ** 16), st.booleans())
@example(400, 3, 1, True)  # the approximation applies to some columns here
def test_normal_pvalues_computed_in_place_are_those_of_the_plain_formulas(n, k, seed, as_sparse):
    """The normal approximation's p-values and where it applies, with the squares and the sort done
    in place, are bit for bit those of the formulas written out (abs(dev).max(), dev ** 2, a sorted
    copy), on sparse and dense documents x columns with ties and zeros."""
    rng = np.random.default_rng(seed)
    dense = np.where(rng.random((n, k)) < 0.5, 0.0, rng.integers(0, 4, (n, k)) / rng.integers(1, 5, (n, k)))
    n_a = int(rng.integers(1, n))
    d_obs = np.abs(dense[:n_a].mean(axis=0) - dense[n_a:].mean(axis=0))
    x = sparse.csr_array(dense) if as_sparse else dense.copy()

    dev = dense - dense.mean(axis=0)
    var_sum = n_a * (n - n_a) / (n * (n - 1)) * (dev ** 2).sum(axis=0)
    sd_diff = np.sqrt(var_sum) * n / (n_a * (n - n_a))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd_diff > 0, d_obs / sd_diff, 0.0)
        pull = np.where(var_sum > 0, np.abs(dev).max(axis=0) / np.sqrt(var_sum), np.inf)
    ordered = np.sort(dense, axis=0)
    varying = np.array([n - max(np.unique(ordered[:, j], return_counts=True)[1]) for j in range(k)])
    applies = (min(n_a, n - n_a) >= compare.NORMAL_MIN_DOCS) & (pull <= compare.NORMAL_MAX_PULL) & (
        varying >= compare.NORMAL_MIN_VARYING)

    p, got_applies = compare._normal_pvalues(x, n_a, d_obs)
    assert np.array_equal(p.view(np.uint64), (2 * compare.ndtr(-z)).view(np.uint64))
    assert np.array_equal(got_applies, applies)
    if not as_sparse:
        assert np.array_equal(x, dense)  # a caller's dense array is not sorted in place


@given(st.integers(1, 30), st.integers(1, 8), st.integers(0, 2 ** 16), st.data())
def test_rows_taken_as_views_are_the_rows_scipy_slices(n_rows, n_cols, seed, data):
    """`_rows` gives the matrix scipy's row slice gives (arrays, shape, sums), on views of the matrix's
    arrays rather than copies of them."""
    matrix = sparse.random_array((n_rows, n_cols), density=0.4, random_state=seed, format="csr")
    lo = data.draw(st.integers(0, n_rows))
    hi = data.draw(st.integers(lo, n_rows))
    sliced, viewed = matrix[lo:hi], compare._rows(matrix, lo, hi)
    assert viewed.shape == sliced.shape
    for name in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(viewed, name), getattr(sliced, name))
    assert np.array_equal(viewed.sum(axis=0), sliced.sum(axis=0)) and np.array_equal(viewed.toarray(), sliced.toarray())
    assert viewed.nnz == 0 or np.shares_memory(viewed.data, matrix.data)
