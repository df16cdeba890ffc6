"""Label columns built by code are the columns pandas would build from the strings themselves."""

from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.frames import (
    _mapped_already,
    categories_at,
    concat_frames,
    is_sorted,
    labels_at,
    map_from_disk,
    positions,
    release_mapped_pages,
    run_starts,
)


@given(st.lists(st.text(max_size=12), min_size=1, max_size=6, unique=True).flatmap(
    lambda labels: st.tuples(st.just(labels), st.lists(st.integers(0, len(labels) - 1), max_size=40))))
def test_labels_at_equals_the_column_of_the_strings(case):
    labels, codes = case
    column = pd.Series(labels_at(labels, np.array(codes, dtype=np.int64)))
    expected = pd.Series(np.array(labels, dtype=object)[np.array(codes, dtype=np.int64)])
    pd.testing.assert_series_equal(column, expected)


def test_labels_at_keeps_labels_that_are_not_strings():
    column = pd.Series(labels_at([3, 1.5], np.array([1, 0, 1])))
    assert column.tolist() == [1.5, 3, 1.5]


def test_labels_at_refuses_codes_outside_the_labels():
    with pytest.raises(IndexError, match="label codes"):
        labels_at(["own", "quoted"], np.array([0, 2]))


def test_parquet_bytes_do_not_depend_on_how_the_table_was_assembled(tmp_path):
    """A table concatenated from chunks and the same table read back whole give the same file
    (to_parquet alone does not: Arrow writes each chunk's dictionary or plain pages as they come)."""
    import io

    from analysis.frames import write_parquet

    rng = np.random.default_rng(0)
    parts = [pd.DataFrame({"text": ["".join(rng.choice(list("abcdefgh "), 60)) for _ in range(20000)],
                           "n": np.arange(20000)}) for _ in range(3)]
    chunked = pd.concat(parts, ignore_index=True)
    whole = pd.read_parquet(io.BytesIO(chunked.to_parquet(index=False)))
    write_parquet(chunked, tmp_path / "chunked.parquet")
    write_parquet(whole, tmp_path / "whole.parquet")
    assert (tmp_path / "chunked.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "chunked.parquet"), chunked)


@given(st.lists(st.sampled_from(["000", "001", "002", "a", "é", ""]), unique=True),
       st.lists(st.sampled_from(["000", "001", "002", "a", "é", "", "zz"]), max_size=40))
def test_positions_equal_get_indexer(labels, values):
    for column in (pd.Series(values, dtype=object), pd.Series(values, dtype=str), pd.Series(values, dtype="category"),
                   pd.Series(values, dtype=pd.CategoricalDtype(["zz", *labels, "unused"]))):  # as term counts
        expected = pd.Index(labels, dtype=object).get_indexer(pd.Index(values, dtype=object))
        assert positions(labels, column).tolist() == expected.tolist()


@given(st.lists(st.tuples(st.sampled_from(["000", "001", "010", "a", "é", "Z"]), st.integers(0, 3),
                          st.sampled_from(["own", "quoted", "reported"])), max_size=30),
       st.sampled_from([str, object, "sorted categories"]))
def test_is_sorted_says_whether_a_stable_sort_would_move_a_row(rows, text_dtype):
    if text_dtype == "sorted categories":  # as term counts hold them: compared by code
        text_dtype = pd.CategoricalDtype(sorted({"000", "001", "010", "a", "é", "Z", "own", "quoted", "reported"}))
    table = pd.DataFrame(rows, columns=["doc_id", "start", "voice"]).astype({"doc_id": text_dtype, "voice": text_dtype})
    for keys in (["doc_id"], ["doc_id", "start"], ["doc_id", "start", "voice"], ["voice", "doc_id"]):
        unmoved = table.sort_values(keys, kind="stable").index.equals(table.index)
        assert is_sorted(table, keys) == unmoved
        assert is_sorted(table.sort_values(keys, kind="stable"), keys)


def test_is_sorted_leaves_categories_and_missing_values_to_the_sort():
    table = pd.DataFrame({"voice": pd.Categorical(["a", "b"], categories=["b", "a"])})
    assert not table.sort_values("voice", kind="stable").index.equals(table.index)  # it would move
    assert not is_sorted(table, ["voice"])
    assert not is_sorted(pd.DataFrame({"doc_id": ["000", None]}), ["doc_id"])


@given(st.lists(st.lists(st.sampled_from(["own", "b", "a", "é", "Z", "a b"]), max_size=6), min_size=1, max_size=4))
def test_frames_of_categories_join_into_categories_with_the_union_of_theirs(columns):
    frames = [pd.DataFrame({"term": categories_at(sorted(set(values)), [sorted(set(values)).index(v) for v in values]),
                            "count": np.arange(len(values))}) for values in columns]
    joined = concat_frames(frames)
    as_text = pd.concat([f.astype({"term": str}) for f in frames], ignore_index=True)
    assert isinstance(joined["term"].dtype, pd.CategoricalDtype) and list(joined.columns) == ["term", "count"]
    assert list(joined["term"].cat.categories) == sorted({v for values in columns for v in values})
    pd.testing.assert_frame_equal(joined.astype({"term": str}), as_text)


def test_categories_at_hold_each_label_once_and_give_the_same_values():
    labels, codes = ["news01", "news02"], np.array([0, 0, 1, 0] * 1000)
    column = pd.Series(categories_at(labels, codes))
    assert column.astype(str).tolist() == pd.Series(labels_at(labels, codes)).astype(str).tolist()
    assert column.memory_usage(deep=True) < pd.Series(labels_at(labels, codes)).memory_usage(deep=True) / 4


def test_positions_find_a_missing_value_as_get_indexer_does():
    labels = pd.Index(["000", np.nan, "002"], dtype=object)
    values = pd.Series(["002", np.nan, "zz"], dtype=object)
    assert positions(labels, values).tolist() == labels.get_indexer(values).tolist() == [2, 1, -1]
    assert positions(labels, values.astype("category")).tolist() == [2, 1, -1]  # categories looked up once
    assert positions(labels.dropna(), values.astype("category")).tolist() == [1, -1, -1]
    assert positions(["a", 1], [1, "a", (1, 2)]).tolist() == [1, 0, -1]


def _estimate_like_part(rng, rows: int, first: int) -> pd.DataFrame:
    """Rows shaped like document estimates: text labels, a unit per row group of rows, floats with
    missing values, counts and a mostly empty warning."""
    return pd.DataFrame({
        "unit": [f"doc{(first + i) // 3:05d}" for i in range(rows)],
        "measure": pd.Series(rng.choice(["rate_per_1k", "mean_compound"], rows), dtype=str),
        "value": np.where(rng.random(rows) < 0.2, np.nan, rng.random(rows)),
        "count": rng.integers(0, 9, rows),
        "warning": pd.Series(np.where(rng.random(rows) < 0.9, None, "fewer than 5 documents"), dtype=str),
    })


@given(st.lists(st.integers(0, 40), min_size=1, max_size=8), st.randoms(use_true_random=False),
       st.sampled_from([1, 7, 16, 1024 * 1024]))
def test_spilled_parts_make_the_file_and_table_of_the_whole(sizes, order, row_group_rows):
    """Parts added in any order, as DataFrames or as files a worker wrote (`arrow_part`), give the
    Parquet bytes of their concatenation, row groups included, and read back (whole or a row group
    at a time) as that concatenation."""
    import tempfile
    from pathlib import Path

    from analysis import frames

    rng = np.random.default_rng(len(sizes))
    parts = [_estimate_like_part(rng, n, sum(sizes[:k])) for k, n in enumerate(sizes)]
    whole = frames.contiguous(pd.concat(parts, ignore_index=True))
    positions_ = list(range(len(parts)))
    order.shuffle(positions_)
    saved = frames.ROW_GROUP_ROWS
    frames.ROW_GROUP_ROWS = row_group_rows
    try:
        with tempfile.TemporaryDirectory() as folder:
            folder = Path(folder)
            spilled = frames.SpilledParts(folder / "parts", folder / "streamed.parquet")
            for position in positions_:
                in_order = position == spilled._next
                if order.random() < 0.5:
                    spilled.add(position, parts[position])
                    continue
                handed = frames.arrow_part(parts[position], folder / "parts")
                spilled.add(position, handed)
                assert in_order or handed.file.exists()  # one that comes early waits in its file
            stored = spilled.finish(len(parts))
            frames.write_parquet(whole, folder / "whole.parquet")
            assert (folder / "streamed.parquet").read_bytes() == (folder / "whole.parquet").read_bytes()
            assert not (folder / "parts").exists()  # the spilled parts are deleted
            assert stored.rows == len(whole)
            pd.testing.assert_frame_equal(stored.read(), whole, check_exact=True)
            pd.testing.assert_frame_equal(pd.concat(list(stored.batches()), ignore_index=True), whole,
                                          check_exact=True)
    finally:
        frames.ROW_GROUP_ROWS = saved


def test_a_workers_part_is_written_from_its_file_and_the_file_deleted_when_its_turn_comes(tmp_path):
    from analysis import frames

    rng = np.random.default_rng(5)
    parts = [_estimate_like_part(rng, 50, 50 * k) for k in range(3)]
    spilled = frames.SpilledParts(tmp_path / "parts", tmp_path / "t.parquet")
    handed = [frames.arrow_part(part, tmp_path / "parts") for part in parts]
    assert handed[0].dtypes == tuple(str(t) for t in parts[0].dtypes)
    spilled.add(2, handed[2])
    spilled.add(0, handed[0])
    assert not handed[0].file.exists() and handed[2].file.exists()  # 0 written, 2 waits for 1
    spilled.add(1, handed[1])
    assert not handed[1].file.exists() and not handed[2].file.exists()
    pd.testing.assert_frame_equal(spilled.finish(3).read(), pd.concat(parts, ignore_index=True), check_exact=True)


@given(st.lists(st.integers(0, 30), min_size=1, max_size=6))
def test_joined_parts_are_the_concatenation_of_the_parts_with_rows(sizes):
    """Parts a worker wrote (`arrow_part`) join into the table the pipeline's chunk join makes of the
    frames (`contiguous(concat_frames(...))` of the parts with rows, or the first part's empty
    frame): same values, dtypes (object columns too) and one chunk a column; the files are gone."""
    import tempfile

    from analysis import frames

    rng = np.random.default_rng(sum(sizes))
    parts = [_estimate_like_part(rng, n, sum(sizes[:k])).assign(
        source=pd.Series([f"file{k}.txt"] * n, dtype=object)) for k, n in enumerate(sizes)]
    full = [p for p in parts if len(p)]
    expected = frames.contiguous(concat_frames(full)) if full else parts[0]
    with tempfile.TemporaryDirectory() as folder:
        handed = [frames.arrow_part(part, folder) for part in parts]
        joined = frames.joined_parts(handed)
        assert not any(part.file.exists() for part in handed)
    pd.testing.assert_frame_equal(joined, expected, check_exact=True)
    assert joined["source"].dtype == object
    assert not full or all(joined[c].array.__arrow_array__().num_chunks == 1 for c in ("unit", "measure"))


def test_joined_parts_of_different_types_are_joined_as_pandas_joins_them(tmp_path):
    """A part whose column has another type (integer counts here, floats there) is joined with
    pd.concat's rules, not refused and not cast by Arrow."""
    from analysis import frames

    parts = [pd.DataFrame({"unit": ["a", "b"], "count": [1, 2]}), pd.DataFrame({"unit": ["c"], "count": [2.5]})]
    joined = frames.joined_parts([frames.arrow_part(part, tmp_path) for part in parts])
    pd.testing.assert_frame_equal(joined, pd.concat(parts, ignore_index=True), check_exact=True)
    assert list(tmp_path.iterdir()) == []


def test_joining_spilled_parts_lets_each_part_go_as_it_is_copied(tmp_path):
    """The parts joined into a row group (read back from their spilled files) are released while it
    is built (the list is emptied), so joining takes about one more table's memory, not the parts'
    and the joined table's together."""
    import pyarrow as pa

    from analysis import frames

    rng = np.random.default_rng(3)
    spilled = frames.SpilledParts(tmp_path / "parts", tmp_path / "t.parquet")
    files = [spilled._spill(k, pa.Table.from_pandas(_estimate_like_part(rng, 20000, 20000 * k), preserve_index=False))
             for k in range(6)]
    parts = [frames._read_ipc(file) for file in files]
    expected = pa.concat_tables(parts).combine_chunks()
    size = expected.nbytes
    before = pa.total_allocated_bytes()
    joined = frames._joined(parts, expected.schema)
    assert parts == []
    assert joined.equals(expected) and all(column.num_chunks == 1 for column in joined.columns)
    # the parts' buffers are gone: what the join added is at most a small share of one table
    assert pa.total_allocated_bytes() - before < 0.1 * size


def test_spilled_parts_of_different_types_are_joined_as_pandas_joins_them(tmp_path):
    """A part whose column has another type (an integer count here, floats there; an empty part of
    object columns) is joined with pd.concat's rules, not refused and not cast by Arrow, whether it
    arrives before or after the parts already written."""
    from itertools import permutations

    from analysis.frames import SpilledParts

    parts = [pd.DataFrame({"unit": ["a", "b"], "count": [1, 2]}),
             pd.DataFrame({"unit": ["c"], "count": [3]}),
             pd.DataFrame({"unit": pd.Series([], dtype=object), "count": pd.Series([], dtype=object)}),
             pd.DataFrame({"unit": ["d"], "count": [2.5]})]
    expected = pd.concat(parts, ignore_index=True)
    for k, order in enumerate(permutations(range(len(parts)))):
        spilled = SpilledParts(tmp_path / f"parts{k}", tmp_path / f"t{k}.parquet")
        for position in order:
            spilled.add(position, parts[position])
        pd.testing.assert_frame_equal(spilled.finish(len(parts)).read(), expected, check_exact=True)
        assert not (tmp_path / f"parts{k}").exists()


def test_spilled_parts_refuse_a_part_twice_and_a_missing_part(tmp_path):
    from analysis.frames import SpilledParts

    part = pd.DataFrame({"unit": ["a"], "count": [1]})
    twice = SpilledParts(tmp_path / "twice", tmp_path / "twice.parquet")
    twice.add(0, part)
    with pytest.raises(ValueError, match="added twice"):
        twice.add(0, part)
    with pytest.raises(ValueError, match="positions start at 0"):
        twice.add(-1, part)
    gap = SpilledParts(tmp_path / "gap", tmp_path / "gap.parquet")
    gap.add(0, part)
    gap.add(2, part)
    with pytest.raises(ValueError, match=r"part\(s\) \[1\] of 3 never added"):
        gap.finish(3)


def test_spilled_parts_of_categories_are_joined_as_pandas_joins_them(tmp_path):
    """Categorical parts (same number of categories, other categories) are joined by pandas' rules."""
    from analysis.frames import SpilledParts

    parts = [pd.DataFrame({"unit": pd.Categorical(["a", "b"])}), pd.DataFrame({"unit": pd.Categorical(["c", "d"])})]
    spilled = SpilledParts(tmp_path / "parts", tmp_path / "t.parquet")
    for position in (0, 1):
        spilled.add(position, parts[position])
    pd.testing.assert_frame_equal(spilled.finish(2).read(), pd.concat(parts, ignore_index=True), check_exact=True)


def test_spilled_parts_write_each_part_as_its_turn_comes_and_refuse_a_short_table(tmp_path):
    """A part that comes early waits in a file; the part whose turn it is is written as it arrives,
    and with it the waiting parts that follow it, each file deleted once written, before `finish`."""
    from analysis.frames import SpilledParts

    part = pd.DataFrame({"unit": ["a"], "count": [1]})
    spilled = SpilledParts(tmp_path / "parts", tmp_path / "t.parquet")
    waiting = lambda: sorted(int(f.name.split("-")[1]) for f in (tmp_path / "parts").glob("*.arrow"))
    for position in (3, 1, 2):
        spilled.add(position, part)
    assert waiting() == [1, 2, 3]  # none is next: all wait
    real_take, taken = spilled._take, []

    def take(file, dtypes):  # the files of the parts before this one are gone once written
        position = int(file.name.split("-")[1])
        assert waiting()[0] == position
        taken.append(position)
        real_take(file, dtypes)

    spilled._take = take
    spilled.add(0, part)  # its turn: written from memory, then the three waiting after it
    assert taken == [1, 2, 3] and waiting() == []
    spilled.add(5, part)
    assert waiting() == [5]
    spilled.add(4, part)
    assert taken == [1, 2, 3, 5] and waiting() == []
    assert spilled.finish(6).rows == 6 and not (tmp_path / "parts").exists()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"),
                                  pd.concat([part] * 6, ignore_index=True), check_exact=True)
    short = SpilledParts(tmp_path / "short", tmp_path / "short.parquet")
    for position in (0, 1, 2):
        short.add(position, part)
    with pytest.raises(ValueError, match=r"part\(s\) \[3\] of 4 never added"):
        short.finish(4)


def test_a_stored_table_whose_file_is_gone_leaves_no_partial_csv(tmp_path):
    from analysis.frames import StoredTable
    from analysis.pipeline import write_tables

    table = pd.DataFrame({"unit": ["a"], "count": [1]})
    table.to_parquet(tmp_path / "t.parquet")
    stored = StoredTable.at(tmp_path / "t.parquet", 1, ("unit", "count"), ("str", "int64"))
    (tmp_path / "t.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="the file holding this table is gone"):
        write_tables({"estimates": stored}, tmp_path / "out", fmt="csv")
    assert not (tmp_path / "out" / "estimates.csv").exists()


def test_a_table_dict_reads_a_stored_table_once_when_looked_up_and_never_when_only_held(tmp_path):
    from analysis.frames import StoredTable, TableDict, write_parquet

    first, second = pd.DataFrame({"unit": ["a", "b"], "count": [1, 2]}), pd.DataFrame({"unit": ["c"], "count": [3]})
    write_parquet(first, tmp_path / "first.parquet")
    write_parquet(second, tmp_path / "second.parquet")
    read = []

    def reader(stored):
        read.append(stored.path.name)
        return stored.read()

    tables = TableDict({"first": StoredTable.at(tmp_path / "first.parquet", 2, ("unit", "count"), ("str", "int64")),
                        "second": StoredTable.at(tmp_path / "second.parquet", 1, ("unit", "count"), ("str", "int64")),
                        "held": first}, reader=reader)
    assert all(isinstance(t, StoredTable) for name, t in tables.held().items() if name != "held") and read == []
    assert tables["held"] is first and read == []
    pd.testing.assert_frame_equal(tables["first"], first, check_exact=True)
    assert tables["first"] is tables.get("first") and read == ["first.parquet"]  # read once, then held
    assert isinstance(tables.held()["first"], pd.DataFrame)
    as_dict = {**tables}  # unpacking looks every table up: the second is read now
    pd.testing.assert_frame_equal(as_dict["second"], second, check_exact=True)
    assert read == ["first.parquet", "second.parquet"]
    assert all(isinstance(t, pd.DataFrame) for t in tables.values())
    assert tables.get("missing", "default") == "default" and tables.setdefault("other", second) is second


@given(st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=40), st.lists(st.text(max_size=5), max_size=5))
def test_text_columns_mapped_from_disk_keep_every_value_and_dtype(values, others):
    """Mapped columns hold the same values (missing ones too) with the same dtype and index; columns
    of other dtypes are left as they were; no file is left in the folder."""
    import tempfile

    index = pd.RangeIndex(3, 3 + len(values))
    table = pd.DataFrame({"text": pd.Series(values, dtype="str", index=index), "n": np.arange(len(values))},
                         index=index)
    other = pd.DataFrame({"text": pd.Series(others, dtype="str"), "kept": pd.Series(others, dtype=object)})
    expected, expected_other = table.copy(), other.copy()
    with tempfile.TemporaryDirectory() as folder:
        assert map_from_disk([(table, ["text"]), (other, ["text", "kept"])], folder) == bool(values or others)
        assert not list(Path(folder).iterdir())
    pd.testing.assert_frame_equal(table, expected, check_exact=True)
    pd.testing.assert_frame_equal(other, expected_other, check_exact=True)
    assert other["kept"].dtype == object


def test_text_columns_mapped_from_disk_leave_this_processs_memory(tmp_path):
    """The point of mapping: the column's bytes are no longer in Arrow's memory pool (this process's
    memory) but read from the mapped file, which the text still reads the same through."""
    import gc

    texts = [f"{i} " + "the officers met in secret " * 20 for i in range(5000)]  # about 2.7 MB
    table = pd.DataFrame({"text": pd.Series(texts, dtype="str")})
    gc.collect()
    before = pa.total_allocated_bytes()
    assert map_from_disk([(table, ["text"])], tmp_path)
    gc.collect()
    assert before - pa.total_allocated_bytes() >= sum(map(len, texts))
    assert table["text"].tolist() == texts
    assert not any(b.is_mutable for c in table["text"].array.__arrow_array__().chunks for b in c.buffers() if b)


@given(st.lists(st.tuples(st.integers(-2**62, 2**62), st.floats(allow_nan=True), st.booleans(),
                          st.sampled_from(["own", "quoted", "reported"])), max_size=40))
def test_number_and_category_columns_mapped_from_disk_keep_their_values_and_can_be_written(rows):
    """Numbers, booleans and a categorical's codes come back the same (dtype, index, NaN); mapping
    again finds nothing left to map; a mapped column can still be written to, in that table only."""
    import tempfile

    index = pd.RangeIndex(7, 7 + len(rows))
    table = pd.DataFrame({
        "n": np.array([r[0] for r in rows], dtype=np.int64), "x": np.array([r[1] for r in rows], dtype=float),
        "flag": np.array([r[2] for r in rows], dtype=bool),
        "voice": pd.Categorical([r[3] for r in rows], categories=["own", "quoted", "reported"]),
        "kept": pd.Series([str(r[0]) for r in rows], dtype=object)}, index=index)
    expected = table.copy()
    with tempfile.TemporaryDirectory() as folder:
        assert map_from_disk([(table, None)], folder) == (len(rows) > 0)
        assert not list(Path(folder).iterdir())
        assert not map_from_disk([(table, None)], folder)  # every column is mapped already (or empty)
    pd.testing.assert_frame_equal(table, expected, check_exact=True)
    if rows:
        other = table.copy(deep=False)
        table.loc[index[0], "n"] = 5
        table.loc[index[-1], "voice"] = "reported"
        assert table.loc[index[0], "n"] == 5 and table.loc[index[-1], "voice"] == "reported"
        pd.testing.assert_frame_equal(other, expected, check_exact=True)


def test_number_columns_mapped_from_disk_leave_this_processs_memory(tmp_path):
    """NumPy's allocations (traced by tracemalloc) fall by the columns' bytes once they are mapped."""
    import gc
    import tracemalloc

    tracemalloc.start()
    try:
        table = pd.DataFrame({"start": np.arange(1_000_000, dtype=np.int64), "share": np.linspace(0, 1, 1_000_000)})
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        assert map_from_disk([(table, None)], tmp_path)
        gc.collect()
        assert before - tracemalloc.get_traced_memory()[0] >= 15_900_000  # the 16 MB, less a few kB held
    finally:
        tracemalloc.stop()
    assert table["start"].sum() == 999_999 * 1_000_000 // 2 and table["share"].iloc[-1] == 1.0


@given(st.lists(st.sampled_from(["d1", "d2", "d10"]), max_size=30), st.sampled_from([object, "str", "category", "codes"]))
def test_run_starts_are_where_the_value_changes_in_any_form(values, form):
    """run_starts gives the first position of each run of equal values, the same for text, object,
    categorical columns and a NumPy array of integer codes (as the match counts' packed keys are)."""
    expected = [i for i in range(len(values)) if i == 0 or values[i] != values[i - 1]]
    column = (pd.factorize(pd.Series(values, dtype=object))[0] if form == "codes"
              else pd.Series(values, dtype=form))
    assert run_starts(column).tolist() == expected


def _resident_file_bytes() -> int:
    """This process's resident pages of files (RssFile in /proc's status), in bytes."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("RssFile:"))


linux_only = pytest.mark.skipif(not Path("/proc/self/pagemap").exists(), reason="reads Linux's page map")


@linux_only
def test_pages_read_of_mapped_columns_are_handed_back_and_read_again_the_same(tmp_path):
    """After a full read, a mapped column's pages count in this process's resident memory; released,
    they no longer do (the bytes said), and the columns read the same values again."""
    numbers = np.arange(8_000_000, dtype=np.int64)  # 64 MB
    texts = [f"{i} the officers met in secret" for i in range(400_000)]  # about 12 MB
    table, notes = pd.DataFrame({"n": numbers}), pd.DataFrame({"text": pd.Series(texts, dtype="str")})
    assert map_from_disk([(table, None), (notes, None)], tmp_path)
    assert table["n"].sum() == numbers.sum() and notes["text"].str.len().sum() == sum(map(len, texts))
    before = _resident_file_bytes()
    released = release_mapped_pages()
    assert released >= numbers.nbytes
    assert before - _resident_file_bytes() >= 0.9 * released
    assert (table["n"].to_numpy() == numbers).all() and notes["text"].tolist() == texts
    assert release_mapped_pages() >= numbers.nbytes  # read again, so counted again, so released again


@linux_only
@given(st.sets(st.integers(0, 3_999_999), max_size=12))
def test_releasing_mapped_pages_keeps_every_value_written_to_them(written):
    """A mapped number column written to holds private copies of the pages written: releasing the
    pages read leaves those, so every write survives and every other value reads as before."""
    import tempfile

    expected = np.arange(4_000_000, dtype=np.int64)  # 32 MB, about 7,800 pages
    with tempfile.TemporaryDirectory() as folder:
        table = pd.DataFrame({"n": expected.copy()})
        assert map_from_disk([(table, None)], folder)
    for position in written:  # in place (no other reference to the column), into the mapping's pages
        table.loc[position, "n"] = -position - 1
        expected[position] = -position - 1
    assert _mapped_already(table["n"])
    assert table["n"].sum() == expected.sum()  # every page read
    released = release_mapped_pages()
    assert released >= expected.nbytes - (len(written) + 2) * mmap.PAGESIZE
    assert (table["n"].to_numpy() == expected).all()
