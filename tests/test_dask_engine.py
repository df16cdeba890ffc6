"""Every engine gives the pandas engine's results: Dask on a two-worker cluster, and worker processes.

The corpus is the seeds plus synthetic articles, cut into chunks of a few documents, so copies and
their originals sit in different partitions and every corpus-level step has several chunks to combine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.pipeline import load_corpus, measure
from analysis.synthetic import folder_as_table, synthetic_articles

PROJECT = Path(__file__).resolve().parent.parent
MAPPING = {"text_col": "body", "outlet_col": "outlet", "id_col": "id", "date_col": "date", "title_col": "title",
           "group_col": "group"}
OPTIONS = {"n_boot": 200, "n_perm": 500, "group_a": "newspaper", "group_b": "socialist_press"}


@pytest.fixture(scope="module")
def articles(tmp_path_factory) -> Path:
    seeds = folder_as_table(PROJECT / "seeds")
    extra = synthetic_articles(load_corpus(PROJECT / "seeds").sentences, 12, seed=3, n_outlets=4, copy_share=0.2)
    path = tmp_path_factory.mktemp("engines") / "articles.csv"
    pd.concat([seeds, extra], ignore_index=True).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def pandas_run(articles):
    return measure(articles, **MAPPING, **OPTIONS, chunk_size=4)


def all_tables(results) -> dict[str, pd.DataFrame]:
    return {**results.corpus.tables(), **results}


def assert_same_results(mine, reference) -> None:
    """Integer and text columns identical, floats within 1e-12, same rows in the same order."""
    mine, reference = all_tables(mine), all_tables(reference)
    assert sorted(mine) == sorted(reference)
    for name, table in reference.items():
        pd.testing.assert_frame_equal(mine[name], table, check_exact=False, rtol=0, atol=1e-12, obj=name)
        floats = table.select_dtypes("number").columns
        ints = [c for c in floats if np.issubdtype(table[c].dtype, np.integer)]
        assert mine[name][ints].equals(table[ints]), name


def test_the_corpus_has_copies_across_the_dask_partitions_and_several_groups(pandas_run):
    docs = pandas_run.corpus.documents
    copies = docs[docs["duplicate_of"] != ""]
    partition = {d: i // 2 for i, d in enumerate(docs["doc_id"])}  # chunk_size=2 on Dask below
    assert any(partition[c] != partition[o] for c, o in zip(copies["doc_id"], copies["duplicate_of"]))
    assert docs["group"].nunique() >= 4


def test_dask_on_a_two_worker_cluster_gives_the_pandas_results(articles, pandas_run, tmp_path):
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    with cluster:
        on_dask = measure(articles, **MAPPING, **OPTIONS, chunk_size=2, engine="dask",
                          scheduler=cluster.scheduler_address, cache_dir=tmp_path)
        assert_same_results(on_dask, pandas_run)
        # The engine is not part of a stage's key: a pandas run reads what the Dask run cached.
        again = measure(articles, **MAPPING, **OPTIONS, cache_dir=tmp_path)
    assert again.stages_computed == []
    assert_same_results(again, pandas_run)


def test_two_worker_processes_give_the_one_process_results(articles, pandas_run):
    assert_same_results(measure(articles, **MAPPING, **OPTIONS, chunk_size=3, workers=2), pandas_run)


def test_worker_processes_writing_their_estimates_parts_to_files_give_the_same_files(articles, tmp_path,
                                                                                       monkeypatch):
    """With an output folder the estimates are written a part at a time; worker processes write their
    parts (and the masked twins) to files themselves (`frames.ArrowPart`), the whole tables of actor
    labels and sourcing to their Parquet files (`frames.stored_parquet`), and the attribution table
    to its file a block of matches at a time (`pipeline._attribution_file`), rather than pickling
    them back. Every table file is the one a single process writes."""
    from analysis import actors, frames, pipeline

    handed = tmp_path / "handed"
    handed.mkdir()

    def counted(frame, folder):  # each call, in whichever process makes it, leaves a file behind
        part = frames.arrow_part(frame, folder)
        in_corpus = Path(folder).name.startswith("framing-lens-clean-")  # the duplicate pass's tables
        (handed / f"{'corpus-' if in_corpus else ''}{part.file.name}").touch()
        return part

    def stored(frame, path):
        (handed / f"table-{Path(path).name}").touch()
        return frames.stored_parquet(frame, path)

    in_blocks = actors.attribution_verbs_in_blocks

    def blocks(matches, spans, rows):
        for k, block in enumerate(in_blocks(matches, spans, rows)):
            (handed / f"attribution-block-{k}").touch()
            yield block

    monkeypatch.setattr(pipeline, "arrow_part", counted)
    monkeypatch.setattr(pipeline, "stored_parquet", stored)
    monkeypatch.setattr(pipeline.actors_mod, "attribution_verbs_in_blocks", blocks)
    monkeypatch.setattr(pipeline, "ATTRIBUTION_ROWS", 50)
    one = measure(articles, **MAPPING, **OPTIONS, chunk_size=3, out=tmp_path / "one", fmt="parquet")
    # one process hands its estimates over as DataFrames; the duplicate pass hands its tables in files
    assert list(handed.glob("corpus-*")) and not list(handed.glob("worker-*"))
    two = measure(articles, **MAPPING, **OPTIONS, chunk_size=3, workers=2, out=tmp_path / "two", fmt="parquet")
    assert len(list(handed.glob("worker-*"))) > 10
    assert sorted(p.name for p in handed.glob("table-*")) == ["table-actor_labels.parquet", "table-sourcing.parquet"]
    assert len(list(handed.glob("attribution-block-*"))) > 3
    assert not list((tmp_path / "two").glob(".framing-lens-tmp-*"))  # the parts' files are gone
    assert_same_results(two, one)
    for file in sorted((tmp_path / "one").glob("*.parquet")):
        assert file.read_bytes() == (tmp_path / "two" / file.name).read_bytes(), file.name


def test_an_unknown_engine_or_a_bad_worker_count_is_named(articles):
    with pytest.raises(ValueError, match=r"engine='spark' is not available; choose one of \['pandas', 'dask'\]"):
        measure(articles, **MAPPING, engine="spark")
    with pytest.raises(ValueError, match="workers=0 must be a positive integer"):
        measure(articles, **MAPPING, workers=0)
    with pytest.raises(ValueError, match="scheduler='tcp://x:8786' needs engine='dask'"):
        measure(articles, **MAPPING, scheduler="tcp://x:8786")
