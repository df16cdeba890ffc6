"""With a cache or `out`, the document estimates stream to disk part by part (docs/scaling.md): the
table, its files and its CSV are those of the run that holds it whole, and it is read only when asked."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis import frames
from analysis.frames import StoredTable
from analysis.pipeline import MEASURE_TABLES, measure

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
    assert all(isinstance(t, pd.DataFrame) for name, t in again.held().items() if name != "estimates")
    # every way of looking at the tables gives DataFrames, the estimates read once and then held
    as_dict = {**again}
    pd.testing.assert_frame_equal(as_dict["estimates"], in_memory["estimates"], check_exact=True)
    assert isinstance(again.held()["estimates"], pd.DataFrame)
    assert again.get("estimates") is again["estimates"]
    assert all(isinstance(t, pd.DataFrame) for t in again.values())
    assert [name for name, _ in again.items()] == list(MEASURE_TABLES)
