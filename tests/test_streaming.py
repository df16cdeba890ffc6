"""With a cache or `out`, the document estimates stream to disk part by part (docs/scaling.md): the
table, its files and its CSV are those of the run that holds it whole, and it is read only when asked.
What waits between stages waits in files (cleaned chunks) or memory-mapped files (tables), with the
same values."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import frames
from analysis.engine import Runner
from analysis.frames import StoredTable
from analysis.pipeline import COLUMN_OPTIONS, MEASURE_TABLES, _compute_corpus, _document_parts, measure

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
# chunks of one document: five document parts per kind of estimate, masked twins among them
OPTIONS = {"n_boot": 30, "n_perm": 50, "chunk_size": 1}


@pytest.fixture(scope="module")
def in_memory():
    results = measure(SEEDS, **OPTIONS)
    assert not any(isinstance(t, StoredTable) for t in results.held().values())  # nothing to stream to
    return results


@pytest.fixture
def small_row_groups(monkeypatch):
    """Row groups of 50 rows, so the streamed file has several and its CSV is written in pieces."""
    monkeypatch.setattr(frames, "ROW_GROUP_ROWS", 50)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("cached", [True, False])
def test_streamed_estimates_are_the_tables_and_files_of_an_in_memory_run(in_memory, tmp_path, small_row_groups,
                                                                         fmt, cached):
    expected_dir = tmp_path / "expected"
    expected_dir.mkdir()
    expected = in_memory["estimates"]
    if fmt == "csv":
        expected.to_csv(expected_dir / "estimates.csv", index=False, lineterminator="\n")
    else:
        frames.write_parquet(expected, expected_dir / "estimates.parquet")
    cache_dir = tmp_path / "cache" if cached else None
    results = measure(SEEDS, **OPTIONS, out=tmp_path / "out", fmt=fmt, cache_dir=cache_dir)
    held = results.held()["estimates"]
    if cached or fmt == "parquet":
        assert isinstance(held, StoredTable)  # not read by the run itself
        assert held.path.exists()
    name = f"estimates.{fmt}"
    assert (tmp_path / "out" / name).read_bytes() == (expected_dir / name).read_bytes()
    for table in MEASURE_TABLES:
        pd.testing.assert_frame_equal(results[table], in_memory[table], check_exact=True)
    # no temporary folder is left, in the output folder or the cache
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
    if cached:
        assert not [p for p in cache_dir.iterdir() if p.name.startswith(".")]


def test_a_cached_run_reads_the_estimates_only_when_they_are_looked_up(in_memory, tmp_path):
    measure(SEEDS, **OPTIONS, cache_dir=tmp_path)
    again = measure(SEEDS, **OPTIONS, cache_dir=tmp_path, out=tmp_path / "out", fmt="parquet")
    assert "aggregates" in again.stages_reused
    stored = again.held()["estimates"]
    assert isinstance(stored, StoredTable) and tmp_path in stored.path.parents  # the cache entry's file
    assert all(isinstance(t, StoredTable) for t in again.held().values())  # every stage cached: none read yet
    # every way of looking at the tables gives DataFrames, the estimates read once and then held
    as_dict = {**again}
    pd.testing.assert_frame_equal(as_dict["estimates"], in_memory["estimates"], check_exact=True)
    assert isinstance(again.held()["estimates"], pd.DataFrame)
    assert again.get("estimates") is again["estimates"]
    assert all(isinstance(t, pd.DataFrame) for t in again.values())
    assert [name for name, _ in again.items()] == list(MEASURE_TABLES)


def test_a_result_whose_file_another_run_overwrote_is_refused_not_read(tmp_path):
    """Without a cache, the estimates stay in the Parquet output; a second run into the same folder
    replaces that file, and the first result then says so instead of handing over the other run's table."""
    first = measure(SEEDS, **OPTIONS, out=tmp_path, fmt="parquet", seed=0)
    measure(SEEDS, **OPTIONS, out=tmp_path, fmt="parquet", seed=1)
    with pytest.raises(OSError, match=r"estimates\.parquet changed after this run wrote it"):
        first["estimates"]


def test_a_relative_output_folder_is_still_found_after_a_change_of_folder(in_memory, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = measure(SEEDS, **OPTIONS, out="out", fmt="parquet", cache_dir="cache")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    pd.testing.assert_frame_equal(results["estimates"], in_memory["estimates"], check_exact=True)


def test_lookups_of_a_missing_file_fail_naming_it_and_pop_gives_the_table(in_memory, tmp_path):
    results = measure(SEEDS, **OPTIONS, cache_dir=tmp_path / "cache")
    stored = results.held()["estimates"]
    popped = results.pop("estimates")
    pd.testing.assert_frame_equal(popped, in_memory["estimates"], check_exact=True)
    dict.__setitem__(results, "estimates", stored)
    pd.testing.assert_frame_equal(results.setdefault("estimates"), in_memory["estimates"], check_exact=True)
    dict.__setitem__(results, "estimates", stored)
    stored.path.unlink()
    with pytest.raises(FileNotFoundError, match=r"estimates\.parquet: the file holding this table is gone"):
        results.get("estimates")  # an error, not the default


def test_a_failed_run_leaves_no_output_folder_and_no_temporary_files(tmp_path, monkeypatch):
    from analysis import compare

    def broken(*args, **kwargs):
        raise RuntimeError("a contrast failed")

    monkeypatch.setattr(compare, "group_differences", broken)
    for cache_dir in (None, tmp_path / "cache"):
        with pytest.raises(RuntimeError, match="a contrast failed"):
            measure(SEEDS, **OPTIONS, out=tmp_path / "new", fmt="parquet", cache_dir=cache_dir)
        assert not (tmp_path / "new").exists()
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")]
    (tmp_path / "kept").mkdir()  # a folder that was there before the run stays
    with pytest.raises(RuntimeError, match="a contrast failed"):
        measure(SEEDS, **OPTIONS, out=tmp_path / "kept", fmt="parquet")
    assert (tmp_path / "kept").is_dir() and not list((tmp_path / "kept").iterdir())


def test_the_corpus_tables_are_read_from_mapped_files_once_a_stage_has_workers_to_start(tmp_path):
    """Tables only read from then on leave the process's memory for mapped files before a stage's
    workers start (not counted again in every forked worker): the measured corpus holds the same
    texts and numbers, the files are gone from the cache, a run whose stages all come from the cache
    maps nothing, and a corpus whose texts are not Arrow strings keeps them as they were."""
    from analysis.pipeline import load_corpus

    loaded = load_corpus(SEEDS)
    corpus = measure(SEEDS, **OPTIONS, cache_dir=tmp_path / "cache").corpus
    for table, name in ((corpus.documents, "raw_text"), (corpus.documents, "clean_text"), (corpus.sentences, "text")):
        buffers = [b for chunk in table[name].array.__arrow_array__().chunks for b in chunk.buffers() if b]
        assert buffers and not any(b.is_mutable for b in buffers)  # read-only: the mapped file's pages
    pd.testing.assert_frame_equal(corpus.documents.drop(columns="offset_map"),
                                  loaded.documents.drop(columns="offset_map"), check_exact=True)
    pd.testing.assert_frame_equal(corpus.sentences, loaded.sentences, check_exact=True)
    for table, name in ((corpus.sentences, "start"), (corpus.spans, "end"), (corpus.documents, "n_words")):
        assert frames._mapped_already(table[name])  # numbers too, from a private mapping
    assert not list((tmp_path / "cache").rglob("mapped-*"))
    cached = measure(SEEDS, **OPTIONS, cache_dir=tmp_path / "cache")  # no stage computed: no worker to spare
    assert cached.stages_computed == [] and not frames._mapped_already(cached.corpus.sentences["start"])
    by_hand = load_corpus(SEEDS)
    by_hand.documents["clean_text"] = by_hand.documents["clean_text"].astype(object)
    measure(by_hand, **OPTIONS)
    assert by_hand.documents["clean_text"].dtype == object


@given(st.lists(st.sampled_from(["d1", "d2", "d3", "d4", "d5", "d6"]), max_size=50), st.integers(1, 4), st.booleans(),
       st.sampled_from(["str", "object", "category"]))
def test_document_parts_hold_each_chunks_rows_in_their_order(doc_of_row, chunk_size, mapped, dtype):
    """A part is the rows of its chunk's documents, in the table's order and with its index, whether
    the table was in chunk order already (slices of it) or not (put in order, then sliced), with
    doc_id as text or categories."""
    doc_ids = ["d1", "d2", "d3", "d4", "d5", "d6", "d7"]  # d7: a document without rows
    index = pd.RangeIndex(10, 10 + len(doc_of_row))
    table = pd.DataFrame({"doc_id": pd.Series(doc_of_row, dtype=dtype, index=index),
                          "row": np.arange(len(doc_of_row)) * 3}, index=index)
    with tempfile.TemporaryDirectory() as folder:
        parts = _document_parts(doc_ids, chunk_size, folder=folder if mapped else None, rows=table)
        assert not list(Path(folder).iterdir())
    assert len(parts) == -(-len(doc_ids) // chunk_size)
    for i, part in enumerate(parts):
        chunk = doc_ids[i * chunk_size:(i + 1) * chunk_size]
        pd.testing.assert_frame_equal(part["rows"], table[table["doc_id"].isin(chunk)], check_exact=True)


@pytest.mark.parametrize("workers", [1, 2])
def test_cleaned_chunks_kept_on_disk_give_the_same_corpus_and_leave_no_file(tmp_path, workers):
    """The corpus stage with its cleaned chunks waiting in files for the duplicate index (one chunk a
    document, so copies and originals are in different chunks) makes the same tables as with them
    held, and its files are gone at the end."""
    mapping = dict.fromkeys(COLUMN_OPTIONS)
    with Runner(workers=workers, progress=False) as runner:
        held = _compute_corpus(SEEDS, mapping, None, runner, 1)
        kept = _compute_corpus(SEEDS, mapping, None, runner, 1, tmp_path / "kept")
    assert (held["documents"]["duplicate_of"] != "").any()  # the seeds hold a repost
    assert held.keys() == kept.keys()
    for name in held:
        pd.testing.assert_frame_equal(kept[name], held[name], check_exact=True)
    assert not list((tmp_path / "kept").iterdir())


@given(st.integers(0, 60), st.integers(0, 8))
def test_heavy_aggregates_tasks_are_spread_evenly_among_the_light_ones(n_light, n_heavy):
    """The task order keeps both lists' orders and puts as many light tasks (give or take one) before
    the first heavy one, between two and after the last (the whole tables then run among light tasks
    rather than side by side)."""
    from analysis.pipeline import _spread

    light, heavy = list(range(100, 100 + n_light)), list(range(n_heavy))
    order = _spread(light, heavy)
    assert sorted(order) == sorted(light + heavy)
    assert [i for i in order if i >= 100] == light and [i for i in order if i < 100] == heavy
    at = [order.index(i) for i in heavy]
    gaps = np.diff([-1, *at, len(order)]) - 1  # light tasks before, between and after the heavy ones
    assert gaps.max() - gaps.min() <= 1 and gaps.sum() == n_light


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 6)), unique=True, max_size=40),
       st.lists(st.tuples(st.integers(0, 5), st.integers(0, 6), st.sampled_from(["maduro_government", "trump"])),
                unique=True, max_size=40), st.randoms(use_true_random=False))
def test_each_actors_rows_of_the_scores_are_those_a_merge_keeps(sentences, mentioned, rnd):
    """`_actor_rows` finds, on integer keys, the rows of the scores that `scores.merge(the actor's
    sentences, on=["doc_id", "sentence_id"])` keeps, in that order, for any order of the scores'
    documents and of the mentions (mentions of sentences without a score are left out, as a merge
    leaves them out)."""
    from analysis.pipeline import _actor_rows

    rnd.shuffle(sentences)
    scores = pd.DataFrame({"doc_id": pd.Series([f"d{d}" for d, _ in sentences], dtype="str"),
                           "sentence_id": np.array([s for _, s in sentences], np.int64)})
    scores["compound"] = np.arange(len(scores)) / 10
    known = sorted({f"d{d}" for d, _ in sentences} | {f"d{d}" for d, _, _ in mentioned}, key=str)
    mentions = pd.DataFrame(mentioned, columns=["doc_id", "sentence_id", "actor"]).astype({"sentence_id": np.int64})
    mentions["doc_id"] = "d" + mentions["doc_id"].astype(str)
    rows = _actor_rows(scores, mentions, known)
    assert sorted(rows) == sorted(mentions["actor"].unique())
    for actor, at in rows.items():
        merged = scores.merge(mentions.loc[mentions["actor"] == actor, ["doc_id", "sentence_id"]],
                              on=["doc_id", "sentence_id"])
        pd.testing.assert_frame_equal(scores.take(at).reset_index(drop=True), merged)
