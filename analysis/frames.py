"""DataFrame helpers shared by the steps.

`labels_at`: a table of a million estimates repeats a few dozen labels (measures, voices,
warnings). Building such a column from an object array converts every Python string one by one;
taking the labels by code in Arrow does the same in one vectorised step, with the same values and
the same dtype. `contiguous` and `write_parquet`: the same table gives the same bytes whether it
was concatenated from chunks or read back whole. `SpilledParts` and `StoredTable`: a table too
large to hold, written part by part as its parts arrive and read back only when asked for.
"""

from __future__ import annotations

import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

WRITE_THREADS = 2  # Parquet files written at once (Arrow encodes and compresses outside the GIL)
ROW_GROUP_ROWS = 1024 * 1024  # rows per Parquet row group (Arrow's default, named so parts can match it)


@lru_cache(maxsize=1)
def _default_string_dtype():
    """The dtype pandas gives a column of Python strings (Arrow-backed `str` in pandas 3, object before)."""
    return pd.Series(["a"]).dtype


def labels_at(labels, codes) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """labels[codes] as the column pandas would make of those strings (codes: integer array)."""
    codes = np.asarray(codes, dtype=np.int64)
    dtype = _default_string_dtype()
    labels = list(labels)
    arrow = isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
    if not arrow or not len(codes) or not all(isinstance(label, str) for label in labels):  # as pandas would
        return np.array(labels + [None], dtype=object)[:-1][codes]
    if codes.min() < 0 or codes.max() >= len(labels):
        raise IndexError(f"label codes outside 0..{len(labels) - 1}")
    taken = pa.array(labels, type=pa.large_string()).take(pa.array(codes))
    return pd.array(taken, dtype=dtype)


def positions(labels, values) -> np.ndarray:
    """Position of each of `values` in `labels` (-1 where absent), as `pd.Index(labels).get_indexer`,
    but looking up each distinct value once: values are factorized first (in Arrow for Arrow
    strings), so a column of a million repeated document ids costs one lookup per document."""
    if not isinstance(values, (pd.Series, pd.Index, np.ndarray, pd.api.extensions.ExtensionArray)):
        values = np.array([*values, None], dtype=object)[:-1]  # one value per item, whatever it holds
    codes, uniques = pd.factorize(values, use_na_sentinel=False)  # a missing value is looked up too
    found = pd.Index(labels).get_indexer(uniques)
    return np.where(codes >= 0, found[np.maximum(codes, 0)], -1).astype(np.int64)


def is_sorted(table: pd.DataFrame, keys: list[str]) -> bool:
    """Whether the rows are already in the order `table.sort_values(keys, kind="stable")` gives,
    so that sorting would not move a row (rows equal on every key may stand in any order). Chunks
    of documents in document order usually are; checking costs a few comparisons per row where a
    sort of millions of rows by text keys costs far more. Missing values, categories (which sort by
    their order) and Arrow dictionaries: answered False (sort)."""
    n = len(table)
    undecided = np.ones(max(n - 1, 0), bool)  # adjacent pairs equal on every key so far
    for key in keys:
        if not undecided.any():
            break
        column = table[key]
        if isinstance(column.dtype, pd.CategoricalDtype) or column.isna().any():
            return False  # categories sort by their order, not their values; missing values sort last
        values = column.array
        try:
            if hasattr(values, "__arrow_array__"):
                arrow = values.__arrow_array__()
                if pa.types.is_dictionary(arrow.type):
                    return False
                before, after = arrow.slice(0, n - 1), arrow.slice(1)
                greater = pc.greater(before, after).to_numpy(zero_copy_only=False)
                equal = pc.equal(before, after).to_numpy(zero_copy_only=False)
            else:
                array = column.to_numpy()
                greater, equal = array[:-1] > array[1:], array[:-1] == array[1:]
        except (TypeError, pa.ArrowNotImplementedError):  # values that do not compare: sort
            return False
        if (np.asarray(greater, bool) & undecided).any():
            return False
        undecided &= np.asarray(equal, bool)
    return True


def contiguous(table: pd.DataFrame) -> pd.DataFrame:
    """`table` (changed in place) with each Arrow-backed column in one chunk. A concatenation of
    document chunks, or a Parquet file of several row groups, leaves a column in pieces; joining
    them column by column here keeps the extra memory to one column, where `write_parquet` would
    copy a whole table at once."""
    for name in table.columns:
        values = table[name].array
        if hasattr(values, "__arrow_array__"):
            chunked = values.__arrow_array__()
            if isinstance(chunked, pa.ChunkedArray) and chunked.num_chunks > 1:
                table[name] = pd.array(chunked.combine_chunks(), dtype=values.dtype)
    return table


def write_parquet(table: pd.DataFrame, path) -> None:
    """`table.to_parquet(path, index=False)` with its columns in one contiguous chunk each: Arrow
    writes a column chunk by chunk (where a dictionary gives way to plain encoding, for one), so
    a table concatenated from document chunks and the same table read back whole would differ in
    bytes, not in content."""
    arrow = pa.Table.from_pandas(table, preserve_index=False).combine_chunks()
    pq.write_table(arrow, path, compression="snappy", row_group_size=ROW_GROUP_ROWS)


def write_parquet_files(tables, paths) -> None:
    """`write_parquet` of each table to its path, WRITE_THREADS files at a time."""
    with ThreadPoolExecutor(WRITE_THREADS) as pool:
        list(pool.map(write_parquet, tables, paths))


def restore_dtypes(table: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """Parquet reads text columns as `str`; columns that were `object` become `object` again (None
    where the value is missing), so a table read back equals the one written."""
    for column, dtype in dtypes.items():
        if dtype == "object" and str(table[column].dtype) != "object":
            values = table[column].astype(object)
            table[column] = values.where(values.notna(), None)
    return table


@dataclass(frozen=True)
class StoredTable:
    """A table held in a Parquet file (the bytes `write_parquet` makes of it) rather than in memory:
    `read()` gives the DataFrame, `batches()` it a row group at a time."""

    path: Path
    rows: int
    columns: tuple[str, ...]
    dtypes: tuple[str, ...]

    def moved_to(self, path) -> StoredTable:
        return StoredTable(Path(path), self.rows, self.columns, self.dtypes)

    def read(self) -> pd.DataFrame:
        return restore_dtypes(contiguous(pd.read_parquet(self.path)), dict(zip(self.columns, self.dtypes)))

    def batches(self):
        """The table's rows a row group at a time, as DataFrames (one empty frame for no rows)."""
        dtypes = dict(zip(self.columns, self.dtypes))
        file = pq.ParquetFile(self.path)
        if file.metadata.num_row_groups == 0:
            yield restore_dtypes(file.schema_arrow.empty_table().to_pandas(), dtypes)
        for i in range(file.metadata.num_row_groups):
            yield restore_dtypes(file.read_row_group(i).to_pandas(), dtypes)


class SpilledParts:
    """The parts of one table, arriving in any order, each spilled to a file in `folder` as it
    comes (Arrow IPC, lz4), then joined in position order into one Parquet file by `finish`: a
    table of millions of rows is never whole in memory. The file holds the bytes `write_parquet`
    makes of `pd.concat(parts, ignore_index=True)`, and reads back as that table."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._parts: dict[int, tuple[Path, tuple[str, ...]]] = {}

    def add(self, position: int, frame: pd.DataFrame) -> None:
        if position in self._parts:
            raise ValueError(f"part {position} was added twice")
        arrow = pa.Table.from_pandas(frame, preserve_index=False)
        path = self.folder / f"part-{position:09d}-{uuid.uuid4().hex[:8]}.arrow"
        options = pa.ipc.IpcWriteOptions(compression="lz4")
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, arrow.schema, options=options) as writer:
            writer.write_table(arrow)
        self._parts[position] = (path, tuple(str(t) for t in frame.dtypes))

    def _arrow(self, position: int) -> pa.Table:
        with pa.memory_map(str(self._parts[position][0])) as source:
            return pa.ipc.open_file(source).read_all()

    def _frame(self, position: int) -> pd.DataFrame:
        arrow = self._arrow(position)
        return restore_dtypes(arrow.to_pandas(), dict(zip(arrow.schema.names, self._parts[position][1])))

    def finish(self, path) -> StoredTable:
        """Join the parts (positions in order) into the Parquet file `path` and delete them. Parts of
        different columns or types (pd.concat would unify them) are joined in memory instead."""
        path, order = Path(path), sorted(self._parts)
        if not order:
            raise ValueError("no part was added")
        schemas = [pa.ipc.open_file(pa.memory_map(str(self._parts[p][0]))).schema for p in order]
        dtype_sets = {self._parts[p][1] for p in order}
        try:
            if len(dtype_sets) > 1 or any(not s.equals(schemas[0], check_metadata=True) for s in schemas):
                whole = contiguous(pd.concat([self._frame(p) for p in order], ignore_index=True))
                write_parquet(whole, path)
                return StoredTable(path, len(whole), tuple(map(str, whole.columns)),
                                   tuple(str(t) for t in whole.dtypes))
            rows = self._write_in_row_groups(order, schemas[0], path)
            return StoredTable(path, rows, tuple(schemas[0].names), next(iter(dtype_sets)))
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _write_in_row_groups(self, order: list[int], schema: pa.Schema, path: Path) -> int:
        """The parts through one writer in row groups of ROW_GROUP_ROWS rows, each one contiguous:
        the row groups, and so the bytes, that `write_parquet` gives the whole table."""
        rows, pending = 0, []
        with pq.ParquetWriter(path, schema, compression="snappy") as writer:
            for position in order:
                pending.append(self._arrow(position))
                held = sum(t.num_rows for t in pending)
                if held < ROW_GROUP_ROWS:
                    continue
                joined = pa.concat_tables(pending).combine_chunks()
                full = held - held % ROW_GROUP_ROWS
                for start in range(0, full, ROW_GROUP_ROWS):
                    writer.write_table(joined.slice(start, ROW_GROUP_ROWS), row_group_size=ROW_GROUP_ROWS)
                pending, rows = [joined.slice(full)], rows + full
            joined = pa.concat_tables(pending).combine_chunks()
            if joined.num_rows or not rows:
                writer.write_table(joined, row_group_size=ROW_GROUP_ROWS)
            rows += joined.num_rows
        return rows
