"""The explorer shows the same numbers as the estimates, and its selectors drive each other."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis import measure
from analysis.explorer import category_options, explorer, matching_sentences, unit_options

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="module")
def results():
    return measure(SEEDS, grouping=SEEDS / "groupings" / "socialist_vs_mainstream.csv", n_boot=20, n_perm=20)


def test_the_sentences_listed_are_the_ones_the_rate_counts(results):
    rows = matching_sentences(results, unit_type="outlet", units=["World Socialist Web Site"], lexicon="loaded",
                              category="ideological", voice="own")
    estimate = results["estimates"].query(
        "unit_type == 'outlet' and unit == 'World Socialist Web Site' and measure == 'rate_per_1k' and "
        "lexicon == 'loaded' and category == 'ideological' and voice == 'own' and section == 'all'")
    assert len(rows) == estimate["count"].iloc[0] > 0
    assert set(rows.keyword.str.lower()) >= {"imperialist", "bourgeoisie"}


def test_a_reposts_copied_body_is_not_listed_under_the_blog(results):
    rows = matching_sentences(results, unit_type="outlet", units=["Partisan blog (name not in capture)"],
                              lexicon="loaded", category="all", voice="all")
    blog = results["estimates"].query(
        "unit_type == 'outlet' and unit == 'Partisan blog (name not in capture)' and measure == 'rate_per_1k' and "
        "lexicon == 'loaded' and category == 'all' and voice == 'all' and section == 'all'")
    assert len(rows) == blog["count"].iloc[0]


def test_switching_to_groups_offers_the_groups_and_redraws(results):
    widget = explorer(results)
    (left, right) = widget.children[0].children
    unit_type, units = left.children
    lexicon, category, _ = right.children
    assert list(units.options) == unit_options(results, "outlet")
    unit_type.value = "group"
    assert list(units.options) == ["mainstream", "partisan_blog", "socialist_press"]
    lexicon.value = "hedges"
    assert list(category.options) == category_options(results, "hedges") and category.value == "all"
    chart, table = widget.children[1], widget.children[2]
    assert any("image/png" in out.get("data", {}) for out in chart.outputs)
    assert table.outputs
