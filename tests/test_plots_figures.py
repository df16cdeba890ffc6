"""Figures from the seed results: each plot draws exactly the rows it claims, keeps an outlet's
colour, and saving is deterministic and carries its provenance."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import struct
from pathlib import Path

import matplotlib.colors as mcolors
import pandas as pd
import pytest

from analysis import figures, plots
from analysis.pipeline import load_corpus, measure

ROOT = Path(__file__).resolve().parent.parent
WSWS = "World Socialist Web Site"
PALETTE = {row["name"]: row["colour"].upper()
           for row in csv.DictReader((ROOT / "analysis" / "data" / "palette.csv").open(encoding="utf-8"))}
DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T")


@pytest.fixture(scope="module")
def seeds():
    """The committed seed result tables (a test in test_project fails if they are stale), read as a
    notebook reads them: ids as strings."""
    tables, _ = figures.read_results(ROOT / "results" / "seeds")
    return tables


@pytest.fixture(scope="module")
def provenance():
    return json.loads((ROOT / "results" / "seeds" / "provenance.json").read_text(encoding="utf-8"))


def _colours_drawn(fig) -> set[str]:
    """Every face and edge colour of the markers and lines in a figure, as #RRGGBB."""
    found = set()
    for ax in fig.axes:
        for coll in ax.collections:
            for rgba in list(coll.get_facecolors()) + list(coll.get_edgecolors()):
                found.add(mcolors.to_hex(rgba[:3]).upper())
        for line in ax.lines:
            found.add(mcolors.to_hex(line.get_color()).upper())
    return found


def _save(fig, data, out_dir, provenance, name="rates-loaded"):
    return figures.save_figure(
        fig, data, figure_id=figures.figure_id("seeds", name), title="Loaded terms per 1,000 words",
        caption="Loaded-term rates by outlet, own voice.", out_dir=out_dir, run_id="seeds",
        notebook="notebooks/seeds.ipynb", parameters={"corpus_path": "seeds", "lexicon": "loaded"},
        provenance=provenance)


# --------------------------------------------------------------------------- what is drawn


def test_rates_plot_draws_exactly_the_estimates_rows(seeds):
    _, data = plots.rates_plot(seeds["estimates"], unit_type="outlet", lexicon="loaded")
    est = seeds["estimates"]
    expected = est[(est["unit_type"] == "outlet") & (est["measure"] == "rate_per_1k") & (est["lexicon"] == "loaded")
                   & (est["voice"] == "own") & (est["section"] == "all")]
    key = ["unit", "category"]
    merged = data.merge(expected, on=key, suffixes=("", "_est"), validate="one_to_one")
    assert len(merged) == len(expected) == len(data)
    for col in ("value", "ci_low", "ci_high", "n_words"):
        pd.testing.assert_series_equal(merged[col], merged[f"{col}_est"].astype(float), check_names=False)
    assert WSWS in set(data["unit"])
    assert data.loc[data["category"] == "all", "unit"].nunique() == 5


def test_wsws_is_drawn_in_its_palette_colour_in_two_different_figures(seeds):
    rates, _ = plots.rates_plot(seeds["estimates"], categories="all")
    sentiment, _ = plots.sentiment_plot(seeds["sentence_scores"], seeds["documents"])
    assert plots.colours([WSWS, "The New York Times"])[WSWS] == PALETTE[WSWS] == "#D55E00"
    assert PALETTE[WSWS] in _colours_drawn(rates)
    assert PALETTE[WSWS] in _colours_drawn(sentiment)


def test_categories_may_name_their_lexicon(seeds):
    _, short = plots.rates_plot(seeds["estimates"], categories=["ideological"])
    _, long = plots.rates_plot(seeds["estimates"], categories=["loaded:ideological"])
    pd.testing.assert_frame_equal(short, long)


def test_one_document_outlets_get_the_within_article_marker_note(seeds):
    fig, data = plots.rates_plot(seeds["estimates"], categories="all")
    assert (data["n_docs"] == 1).all()
    notes = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert "interval: within-article variation only (1 document)" in notes


def test_voice_rates_plot_splits_the_rate_into_three_voices(seeds):
    _, data = plots.voice_rates_plot(seeds["estimates"], unit_type="outlet", lexicon="loaded")
    nyt = data[data["unit"] == "The New York Times"].set_index("voice")
    assert list(nyt.index) == ["own", "quoted", "reported"]
    est = seeds["estimates"]
    own = est[(est["unit"] == "The New York Times") & (est["lexicon"] == "loaded") & (est["category"] == "all")
              & (est["voice"] == "own") & (est["section"] == "all") & (est["measure"] == "rate_per_1k")]
    assert nyt.loc["own", "value"] == pytest.approx(own["value"].iloc[0])


def test_differences_plot_annotates_p_with_its_smallest_possible_value(seeds):
    fig, data = plots.differences_plot(seeds["differences"], group_a="socialist_press", group_b="rest",
                                       lexicon="loaded")
    assert set(data["category"]) == {"all", "actor_label", "conflict_threat", "evaluative_emotive", "ideological",
                                     "scare_quote"}
    row = data[data["category"] == "all"].iloc[0]
    label = plots.p_label(row["p_value"], row["min_p"])
    assert label.startswith("p = ") and "(smallest possible 0.2)" in label  # one of five documents: 1/5
    right = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert label in right and all("smallest possible" in t for t in right)


def test_distinctive_terms_plot_labels_exactly_the_top_n_terms(seeds):
    fig, data = plots.distinctive_terms_plot(seeds["distinctive_terms"], group_a="socialist_press", group_b="rest",
                                             top_n=15)
    terms = seeds["distinctive_terms"]
    terms = terms[(terms["group_a"] == "socialist_press") & (terms["group_b"] == "rest") & (terms["voice"] == "own")]
    expected = set(plots.top_terms(terms, 15)["term"])
    assert set(data.loc[data["labelled"], "term"]) == expected and len(expected) == 15
    shown = set()
    for text in fig.axes[0].texts:
        label = re.sub(r" \(\+\d+ tied\)$", "", text.get_text().replace("\n", " "))
        if not label.startswith("z ="):
            shown.update(label.split(", "))
    assert shown == expected
    assert "US" in expected  # the socialist press's "US" (14 to 0) has the largest |z|


def test_voice_shares_add_up_and_match_the_sentences(seeds):
    _, data = plots.voice_share_plot(seeds["sentences"], seeds["documents"], by="doc_id")
    assert data.groupby("unit")["share"].sum().to_numpy() == pytest.approx(1.0)
    words = data.groupby("unit")["words"].sum()
    assert words.to_dict() == seeds["sentences"].groupby("doc_id")["n_words"].sum().astype(float).to_dict()


def test_the_copy_body_is_left_out_of_its_outlet_as_in_the_estimates(seeds):
    _, by_outlet = plots.voice_share_plot(seeds["sentences"], seeds["documents"])
    blog = by_outlet[by_outlet["unit"] == "Partisan blog (name not in capture)"]
    sents = seeds["sentences"]
    kept = sents[(sents["doc_id"] == "000") & (sents["section"] != "body")]
    assert blog["n_words"].iloc[0] == kept["n_words"].sum()


def test_sentiment_along_article_keeps_reading_order_and_sections(seeds):
    _, data = plots.sentiment_along_article(seeds["sentence_scores"], doc_id="001")
    assert data["sentence_id"].tolist() == sorted(data["sentence_id"])
    assert {"headline", "deck", "caption"} <= set(data["section"])


def test_actor_sentiment_plot_draws_actor_rows_only(seeds):
    _, data = plots.actor_sentiment_plot(seeds["estimates"])
    assert (data["lexicon"] == "actors").all() and (data["measure"] == "mean_compound").all()
    assert "maduro_government" in set(data["category"])


def test_cleaning_plot_counts_every_report_line(seeds):
    _, data = plots.cleaning_plot(seeds["cleaning_report"], seeds["documents"])
    assert data["lines"].sum() == len(seeds["cleaning_report"])
    assert "002" not in set(data["doc_id"])  # the New York Times capture needed no cleaning


def test_plots_take_the_tables_measure_returns_as_they_take_the_csv_files(seeds):
    corpus = load_corpus(ROOT / "seeds")
    fresh = {**corpus.tables(), **measure(corpus, n_boot=200, n_perm=100)}
    _, data = plots.rates_plot(fresh["estimates"], categories="all")
    _, committed = plots.rates_plot(seeds["estimates"], categories="all")
    assert data["unit"].tolist() == committed["unit"].tolist()
    assert data["value"].to_numpy() == pytest.approx(committed["value"].to_numpy())  # intervals differ: n_boot
    _, along = plots.sentiment_along_article(fresh["sentence_scores"], doc_id="000", documents=fresh["documents"])
    assert len(along) == (seeds["sentence_scores"]["doc_id"] == "000").sum()


def test_sentiment_plot_rest_is_every_other_group(seeds):
    _, data = plots.sentiment_plot(seeds["sentence_scores"], seeds["documents"], by="outlet_group",
                                   units=["socialist_press", "rest"])
    assert set(data["unit"]) == {"socialist_press", "rest"}
    assert set(data.loc[data["unit"] == "socialist_press", "doc_id"]) == {"003"}


def test_precision_plot_draws_the_precision_rows():
    from analysis import spotcheck

    scores = spotcheck.score_sheet(spotcheck.read_coding_sheet(ROOT / "seeds" / "spotcheck" / "coded_pilot_seeds.csv"))
    fig, data = plots.precision_plot(scores)
    assert (data["measure"] == "precision").all() and len(data) == (scores["measure"] == "precision").sum()
    right = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert right == [f"{k}/{n}" for k, n in zip(data["n_yes"].astype(int), data["n"].astype(int))]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(("call", "message"), [
    (lambda t: plots.rates_plot(t["estimates"], units=["Fox News"]), "World Socialist Web Site"),
    (lambda t: plots.rates_plot(t["estimates"], categories=["slurs"]), "actor_label"),
    (lambda t: plots.rates_plot(t["estimates"], lexicon="loded"), "loaded"),
    (lambda t: plots.differences_plot(t["differences"], group_a="tabloid", group_b="rest"), "socialist_press"),
    (lambda t: plots.sentiment_along_article(t["sentence_scores"], doc_id="999"), "'000'"),
    (lambda t: plots.distinctive_terms_plot(t["distinctive_terms"], group_a="newspaper", group_b="broadcaster"),
     "rest"),
    (lambda t: plots.sentiment_plot(t["sentence_scores"], t["documents"], by="author_name"), "outlet"),
])
def test_unknown_values_raise_listing_the_valid_ones(seeds, call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call(seeds)


# --------------------------------------------------------------------------- colours and ids


def test_colours_of_names_not_in_the_palette_file_are_deterministic():
    first = plots.colours(["Zeta Daily", "Alpha Times", WSWS])
    again = plots.colours([WSWS, "Alpha Times", "Zeta Daily"])
    assert first == again
    assert first[WSWS] == PALETTE[WSWS]
    assert len(set(first.values())) == 3
    assert first["Alpha Times"] == plots.palette()[0]  # sorted names take the unused colours in file order


def test_more_than_eight_names_are_coloured_by_group():
    names = [f"Outlet {i}" for i in range(10)]
    with pytest.raises(ValueError, match="pass groups="):
        plots.colours(names)
    groups = {n: ("newspaper" if i % 2 else "broadcaster") for i, n in enumerate(names)}
    coloured = plots.colours(names, groups=groups)
    assert coloured["Outlet 1"] == PALETTE["newspaper"] and coloured["Outlet 0"] == PALETTE["broadcaster"]


def test_palette_has_at_most_eight_colours_and_cites_its_source():
    assert len(set(PALETTE.values())) <= 8
    rows = list(csv.DictReader((ROOT / "analysis" / "data" / "palette.csv").open(encoding="utf-8")))
    assert all(row["source"] for row in rows)
    assert "Okabe" in rows[0]["source"]


def test_figure_id_is_lower_case_with_hyphens():
    assert figures.figure_id("seeds", "rates_loaded") == "seeds-rates-loaded"
    assert figures.figure_id("Seeds", "Voice Share") == "seeds-voice-share"
    for bad in ("rates/loaded", "rätes", "rates--loaded", ""):
        with pytest.raises(ValueError, match="a-z, 0-9"):
            figures.figure_id("seeds", bad)


def test_caption_names_the_interval_method_and_resampling_unit(seeds):
    _, data = plots.rates_plot(seeds["estimates"], categories="all")
    assert figures.caption_for_intervals(data) == (
        "Intervals: 95% percentile bootstrap, 2000 draws, resampling sentences "
        "(one document per outlet: within-article variation only).")
    _, diff = plots.differences_plot(seeds["differences"], group_a="socialist_press", group_b="rest")
    text = figures.caption_for_intervals(diff)
    assert "resampling sentences (a), documents (b)" in text and "exact permutation" in text


# --------------------------------------------------------------------------- files


def _files(out: Path, fid: str) -> dict[str, bytes]:
    names = [f"{fid}.png", f"{fid}.svg", f"{fid}.csv", "catalog.csv", "README.md"]
    return {name: (out / name).read_bytes() for name in names}


def test_saving_a_redrawn_figure_gives_byte_identical_files(seeds, provenance, tmp_path):
    for out in (tmp_path / "a", tmp_path / "b"):
        fig, data = plots.rates_plot(seeds["estimates"])
        if out.name == "b":
            fig.savefig(io.BytesIO(), format="png", dpi=72)  # shown first, as in a notebook
        _save(fig, data, out, provenance)
    first, second = _files(tmp_path / "a", "seeds-rates-loaded"), _files(tmp_path / "b", "seeds-rates-loaded")
    for name in first:
        assert first[name] == second[name], name
    _save(fig, data, tmp_path / "a", provenance)  # saving again in place (upsert) changes nothing
    assert _files(tmp_path / "a", "seeds-rates-loaded") == first


def test_png_is_300_dpi_and_has_no_software_or_time_chunk(seeds, provenance, tmp_path):
    fig, data = plots.sentiment_plot(seeds["sentence_scores"], seeds["documents"])
    _save(fig, data, tmp_path, provenance, name="sentiment")
    png = (tmp_path / "seeds-sentiment.png").read_bytes()
    chunks, pos = {}, 8
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        chunks[kind] = png[pos + 8:pos + 8 + length]
        pos += 12 + length
    x, y, unit = struct.unpack(">IIB", chunks[b"pHYs"])
    assert unit == 1 and x == y == round(300 / 0.0254)
    assert b"tIME" not in chunks and b"Matplotlib" not in png


def test_svg_has_no_date_and_draws_text_as_paths(seeds, provenance, tmp_path):
    fig, data = plots.rates_plot(seeds["estimates"], categories="all")
    _save(fig, data, tmp_path, provenance)
    svg = (tmp_path / "seeds-rates-loaded.svg").read_text(encoding="utf-8")
    assert "<dc:date>" not in svg and not re.search(r"\d{4}-\d{2}-\d{2}", svg)
    assert "<text" not in svg  # svg.fonttype = path: the same look without the font installed


def test_catalog_row_carries_provenance_and_no_date(seeds, provenance, tmp_path):
    fig, data = plots.rates_plot(seeds["estimates"], categories="all")
    row = _save(fig, data, tmp_path, provenance)
    fig2, data2 = plots.voice_share_plot(seeds["sentences"], seeds["documents"])
    _save(fig2, data2, tmp_path, provenance, name="voice-share")
    catalog = pd.read_csv(tmp_path / "catalog.csv", dtype=str, keep_default_na=False)
    assert catalog["figure_id"].tolist() == ["seeds-rates-loaded", "seeds-voice-share"]
    saved = catalog.set_index("figure_id").loc["seeds-rates-loaded"]
    assert saved["corpus_hash"] == provenance["corpus_hash"]
    assert saved["doc_ids"] == "000;001;002;003;004"
    assert json.loads(saved["lexicon_versions"]) == provenance["lexicon_versions"]
    assert saved["package_version"] == provenance["package_version"] and saved["code_hash"] == provenance["code_hash"]
    assert saved["data_sha256"] == hashlib.sha256((tmp_path / "seeds-rates-loaded.csv").read_bytes()).hexdigest()
    assert (saved["png"], saved["svg"], saved["csv"]) == ("seeds-rates-loaded.png", "seeds-rates-loaded.svg",
                                                          "seeds-rates-loaded.csv")
    assert json.loads(saved["parameters"]) == {"corpus_path": "seeds", "lexicon": "loaded"}
    assert row["figure_id"] == "seeds-rates-loaded"
    assert not any(DATE_TIME.search(value) for value in catalog.to_numpy().ravel())
    readme = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "## seeds-rates-loaded: Loaded terms per 1,000 words" in readme
    assert "![Loaded terms per 1,000 words](seeds-rates-loaded.png)" in readme
    assert provenance["corpus_hash"] in readme and "## seeds-voice-share" in readme
    assert not DATE_TIME.search(readme)


def test_data_csv_is_the_data_drawn_with_unix_line_ends(seeds, provenance, tmp_path):
    fig, data = plots.rates_plot(seeds["estimates"], categories="all")
    _save(fig, data, tmp_path, provenance)
    raw = (tmp_path / "seeds-rates-loaded.csv").read_bytes()
    assert b"\r\n" not in raw
    back = pd.read_csv(tmp_path / "seeds-rates-loaded.csv")
    assert back["value"].tolist() == pytest.approx(data["value"].tolist())


def test_machine_paths_never_reach_the_catalog(seeds, provenance, tmp_path):
    fig, data = plots.rates_plot(seeds["estimates"], categories="all")
    row = figures.save_figure(fig, data, figure_id="seeds-x", title="t", caption="c", out_dir=tmp_path, run_id="seeds",
                              notebook="notebooks/n.ipynb", parameters={"corpus_path": "/data/someone/corpus.csv",
                                                                        "out_dir": str(tmp_path)},
                              provenance=provenance)
    recorded = json.loads(row["parameters"])
    assert recorded == {"corpus_path": ".../corpus.csv"}
    assert "someone" not in (tmp_path / "catalog.csv").read_text()
