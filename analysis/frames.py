"""DataFrame helpers shared by the steps.

`labels_at`: a table of a million estimates repeats a few dozen labels (measures, voices,
warnings). Building such a column from an object array converts every Python string one by one;
taking the labels by code in Arrow does the same in one vectorised step, with the same values and
the same dtype. `contiguous` and `write_parquet`: the same table gives the same bytes whether it
was concatenated from chunks or read back whole. `SpilledParts` and `StoredTable`: a table too
large to hold, written part by part as its parts arrive and read back only when asked for.
`map_from_disk`: columns handed from this process's memory to memory-mapped files.
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import os
import re
import shutil
import sys
import uuid
from collections.abc import ItemsView, ValuesView
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pandas.api.types import union_categoricals

WRITE_THREADS = 2  # Parquet files written at once (Arrow encodes and compresses outside the GIL)
ROW_GROUP_ROWS = 128 * 1024  # rows per Parquet row group; the estimates wait in memory a row group at a time


@functools.lru_cache(maxsize=1)
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


def categories_at(labels, codes) -> pd.Categorical:
    """labels[codes] as a categorical column: the labels (distinct, in the order they should sort)
    are its categories, held once, where `labels_at` repeats each string in every row."""
    labels = list(labels)
    text = all(isinstance(label, str) for label in labels)  # as `labels_at` makes a column of them
    categories = pd.Index(labels, dtype=_default_string_dtype() if text else object)
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), dtype=pd.CategoricalDtype(categories))


def concat_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """`pd.concat(frames, ignore_index=True)`, except that a column categorical in every frame stays
    categorical, with the union of their categories (sorted), where pandas would turn categories
    that differ between frames (each chunk's own words) into a column of strings."""
    joint = [c for c in frames[0].columns if all(isinstance(f[c].dtype, pd.CategoricalDtype) for f in frames)]
    if not joint or len(frames) == 1:
        return pd.concat(frames, ignore_index=True)
    table = pd.concat([f.drop(columns=joint) for f in frames], ignore_index=True)
    for column in joint:
        table[column] = union_categoricals([f[column].array for f in frames], sort_categories=True)
    return table[list(frames[0].columns)]


def positions(labels, values) -> np.ndarray:
    """Position of each of `values` in `labels` (-1 where absent), as `pd.Index(labels).get_indexer`,
    but looking up each distinct value once: values are factorized first (in Arrow for Arrow
    strings), so a column of a million repeated document ids costs one lookup per document."""
    if not isinstance(values, (pd.Series, pd.Index, np.ndarray, pd.api.extensions.ExtensionArray)):
        values = np.array([*values, None], dtype=object)[:-1]  # one value per item, whatever it holds
    if isinstance(values.dtype, pd.CategoricalDtype):  # term counts' doc_ids: each category looked up once
        categories = pd.Index(values.dtype.categories, dtype=object)
        found = pd.Index(labels).get_indexer(categories.insert(len(categories), np.nan)).astype(np.int64)
        return found[np.asarray(values.cat.codes if isinstance(values, pd.Series) else values.codes)]  # -1: NaN
    codes, uniques = pd.factorize(values, use_na_sentinel=False)  # a missing value is looked up too
    found = pd.Index(labels).get_indexer(uniques)
    return np.where(codes >= 0, found[np.maximum(codes, 0)], -1).astype(np.int64)


def is_sorted(table: pd.DataFrame, keys: list[str]) -> bool:
    """Whether the rows are already in the order `table.sort_values(keys, kind="stable")` gives,
    so that sorting would not move a row (rows equal on every key may stand in any order). Chunks
    of documents in document order usually are; checking costs a few comparisons per row where a
    sort of millions of rows by text keys costs far more. Categories are compared by code when they
    are in sorted order. Missing values, other categories (which sort by their order) and Arrow
    dictionaries: answered False (sort)."""
    n = len(table)
    undecided = np.ones(max(n - 1, 0), bool)  # adjacent pairs equal on every key so far
    for key in keys:
        if not undecided.any():
            break
        column = table[key]
        if column.isna().any():
            return False  # missing values sort last
        values = column.array
        if isinstance(column.dtype, pd.CategoricalDtype):  # categories sort by their order
            if not column.cat.categories.is_monotonic_increasing:
                return False
            values = column.cat.codes.to_numpy()  # in sorted categories, codes order as values do
        try:
            if isinstance(values, np.ndarray):
                greater, equal = values[:-1] > values[1:], values[:-1] == values[1:]
            elif hasattr(values, "__arrow_array__"):
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
    _write_arrow(_arrow_of(table), path)


def stored_parquet(table: pd.DataFrame, path) -> StoredTable:
    """`table` written to `path` by `write_parquet`, as the `StoredTable` of that file: what a worker
    hands back for a large table instead of pickling it through the pool's pipe (the pickle, and its
    copy unpickled in the main process, each as large as the table)."""
    write_parquet(table, path)
    return StoredTable.at(path, len(table), map(str, table.columns), (str(t) for t in table.dtypes))


def _arrow_of(table: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(table, preserve_index=False).combine_chunks()


def _write_arrow(arrow: pa.Table, path) -> None:
    pq.write_table(arrow, path, compression="snappy", row_group_size=ROW_GROUP_ROWS)


def write_parquet_files(tables, paths, *, meanwhile=None) -> None:
    """`write_parquet` of each table to its path, WRITE_THREADS files at a time. With `meanwhile`
    (a function of no argument), the tables are first taken as Arrow tables (which hold their
    columns' buffers) and `meanwhile()` runs in this thread while the files are written: it may
    replace the tables' columns (`map_from_disk`), not change their values. Arrow encodes and
    compresses outside the GIL, so on two cores the two overlap."""
    with ThreadPoolExecutor(WRITE_THREADS) as pool:
        if meanwhile is None:
            list(pool.map(write_parquet, tables, paths))
            return
        arrows = [_arrow_of(table) for table in tables]
        writes = [pool.submit(_write_arrow, arrow, path) for arrow, path in zip(arrows, paths)]
        del arrows  # each is let go once written
        meanwhile()
        for write in writes:
            write.result()


def restore_dtypes(table: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """Parquet reads text columns as `str`; columns that were `object` become `object` again (None
    where the value is missing), so a table read back equals the one written."""
    for column, dtype in dtypes.items():
        if dtype == "object" and str(table[column].dtype) != "object":
            values = table[column].astype(object)
            table[column] = values.where(values.notna(), None)
    return table


def run_starts(values: pd.Series | np.ndarray) -> np.ndarray:
    """Positions where a run of equal values begins (always 0 for a non-empty series): a table's
    rows come grouped by document, so its doc_ids form one run a document. A NumPy array (sorted
    integer keys, say) is compared as it is."""
    if len(values) < 2:
        return np.arange(len(values))
    if isinstance(values, np.ndarray):
        differs = values[1:] != values[:-1]
    elif isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        differs = codes[1:] != codes[:-1]
    else:
        arrow = pa.chunked_array([pa.Array.from_pandas(values)]) if values.dtype == object else \
            pa.chunked_array(values.array.__arrow_array__())
        differs = pc.not_equal(arrow.slice(1), arrow.slice(0, len(values) - 1)).to_numpy(zero_copy_only=False)
    return np.flatnonzero(np.concatenate([[True], differs]))


def looked_up_by_runs(values: pd.Series, lookup: pd.Series, missing: int | None = None) -> np.ndarray:
    """`values.map(lookup)` as int64, looked up once per run of equal values (`run_starts`): at
    100,000 articles that is 100,000 lookups rather than millions. Values not in lookup get
    `missing` (None: an error)."""
    starts = run_starts(values)
    looked_up = values.iloc[starts].map(lookup)
    if missing is not None:
        looked_up = looked_up.fillna(missing)
    return np.repeat(looked_up.to_numpy(np.int64), np.diff(np.append(starts, len(values))))


@dataclass(frozen=True)
class StoredTable:
    """A table held in a Parquet file (the bytes `write_parquet` makes of it) rather than in memory:
    `read()` gives the DataFrame, `batches()` it a row group at a time. `stamp` is the file's size
    and modification time when it was made or moved: a file changed since (another run writing to
    the same folder) is refused rather than read as this table."""

    path: Path
    rows: int
    columns: tuple[str, ...]
    dtypes: tuple[str, ...]
    stamp: tuple[int, int] | None = None

    @classmethod
    def at(cls, path, rows: int, columns, dtypes) -> StoredTable:
        """The table in the file at `path` (made absolute), stamped as that file is now."""
        path = Path(path).resolve()
        return cls(path, rows, tuple(columns), tuple(dtypes), _stamp(path))

    def moved_to(self, path) -> StoredTable:
        """The same table in the file at `path`, stamped as that file is now."""
        return StoredTable.at(path, self.rows, self.columns, self.dtypes)

    def _checked(self) -> pq.ParquetFile:
        try:
            changed = self.stamp is not None and _stamp(self.path) != self.stamp
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.path}: the file holding this table is gone (the cache or output "
                                    "folder was cleared?); run measure again") from None
        if changed:
            raise OSError(f"{self.path} changed after this run wrote it (another run wrote to the same folder?); "
                          "run measure again, or read that file as the other run's table")
        return pq.ParquetFile(self.path)

    def read(self) -> pd.DataFrame:
        table = self._checked().read().to_pandas()
        return restore_dtypes(contiguous(table), dict(zip(self.columns, self.dtypes)))

    def batches(self):
        """The table's rows a row group at a time, as DataFrames (one empty frame for no rows); the
        file is checked and opened on the call, before the first batch is asked for."""
        dtypes, file = dict(zip(self.columns, self.dtypes)), self._checked()

        def each():
            if file.metadata.num_row_groups == 0:
                yield restore_dtypes(file.schema_arrow.empty_table().to_pandas(), dtypes)
            for i in range(file.metadata.num_row_groups):
                yield restore_dtypes(file.read_row_group(i).to_pandas(), dtypes)

        return each()


class TableDict(dict):
    """Tables by name, each a DataFrame or a `StoredTable` waiting in its file: a StoredTable is read
    (by `reader`, default `StoredTable.read`) the first time it is looked up, then held. `held()`
    gives the tables as held, reading nothing; so a table nobody looks up is never read."""

    def __init__(self, tables=(), *, reader=None):
        super().__init__(tables)
        self._reader = reader

    def __getitem__(self, name: str) -> pd.DataFrame:
        table = super().__getitem__(name)
        if isinstance(table, StoredTable):
            table = self._reader(table) if self._reader is not None else table.read()
            super().__setitem__(name, table)
        return table

    def __iter__(self):  # defined here, so that dict(tables) and {**tables} look tables up as above
        return super().__iter__()

    def get(self, name: str, default=None):
        return self[name] if name in self.keys() else default

    def pop(self, name: str, *default):
        if name not in self.keys():
            return super().pop(name, *default)
        table = self[name]
        super().pop(name)
        return table

    def setdefault(self, name: str, default=None):
        if name not in self.keys():
            return super().setdefault(name, default)
        return self[name]

    def values(self):
        return ValuesView(self)

    def items(self):
        return ItemsView(self)

    def held(self) -> dict:
        """The tables as held: DataFrames, and StoredTables for tables not read yet."""
        return dict(super().items())


def _stamp(path: Path) -> tuple[int, int]:
    status = Path(path).stat()
    return status.st_size, status.st_mtime_ns


@dataclass(frozen=True)
class ArrowPart:
    """A part of a table that a worker process wrote to an Arrow IPC file (uncompressed, so it is read
    back memory-mapped, without a copy), with its pandas dtypes: what a worker hands `SpilledParts.add`
    instead of the DataFrame, so the rows are neither pickled through the pool's pipe nor turned into
    Arrow by the main process. The file is deleted once its rows are in the Parquet file."""

    file: Path
    dtypes: tuple[str, ...]


def arrow_part(frame: pd.DataFrame, folder) -> ArrowPart:
    """`frame` written to a new Arrow IPC file in `folder` (which must exist), as an `ArrowPart`."""
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    file = Path(folder) / f"worker-{uuid.uuid4().hex}.arrow"
    with pa.OSFile(str(file), "wb") as sink, pa.ipc.new_file(sink, arrow.schema) as writer:
        writer.write_table(arrow)
    return ArrowPart(file, tuple(str(t) for t in frame.dtypes))


def joined_parts(parts: list[ArrowPart]) -> pd.DataFrame:
    """The rows of `parts` (in order) as one DataFrame, each column in one chunk: the table
    `contiguous(pd.concat(frames, ignore_index=True))` makes of the parts' frames, parts without
    rows left out. The files are deleted. Built a column at a time, each file memory-mapped only
    while its column is copied: this process holds the joined columns and one column's pages of
    the files, never every part at once. Parts whose columns differ in type are joined by pandas."""
    full = [part for part in parts if _read_ipc(part.file).num_rows]
    try:
        if not full:
            return _frame_of(_read_ipc(parts[0].file), parts[0].dtypes) if parts else pd.DataFrame()
        schema, dtypes = _read_ipc(full[0].file).schema, full[0].dtypes
        if any(p.dtypes != dtypes or not _read_ipc(p.file).schema.equals(schema) for p in full[1:]):
            return contiguous(pd.concat([_frame_of(_read_ipc(p.file), p.dtypes) for p in full], ignore_index=True))
        columns = []
        for name in schema.names:
            chunks = [chunk for part in full for chunk in _read_ipc(part.file).column(name).chunks]
            try:
                columns.append(pa.concat_arrays(chunks))
            except pa.ArrowInvalid:  # a column too long for 32-bit offsets: pandas joins it in pieces
                del chunks, columns
                return contiguous(pd.concat([_frame_of(_read_ipc(p.file), p.dtypes) for p in full],
                                            ignore_index=True))
            del chunks  # the files' mappings go with the last reference to their buffers
        return _frame_of(pa.Table.from_arrays(columns, schema=schema), dtypes)
    finally:
        for part in parts:
            part.file.unlink(missing_ok=True)


class SpilledParts:
    """The parts of one table, arriving in any order, written in position order into the Parquet file
    `path`, a row group at a time: a part that comes next in order is written as it arrives (with any
    parts after it already waiting), one that comes early waits in a file in `folder` (Arrow IPC, lz4)
    until its turn; `finish` writes what is left. A table of millions of rows is never whole in
    memory (at most a row group's rows wait to be written), and parts that arrive in about their
    order, as a pool's results do, are written while the pool still works rather than after it.
    The file holds the bytes `write_parquet` makes of `pd.concat(parts, ignore_index=True)`, and
    reads back as that table."""

    def __init__(self, folder, path):
        self.folder, self.path = Path(folder), Path(path)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._spilled: dict[int, tuple[Path, tuple[str, ...]]] = {}  # parts not written yet: file, pandas dtypes
        self._writer = self._schema = self._dtypes = None
        self._pending: list[pa.Table] = []  # rows not yet a full row group
        self._rows = 0  # rows written in row groups
        self._later: list[tuple[Path, tuple[str, ...]]] | None = None  # after parts of other types: joined by pandas
        self._next = 0  # the position written next; those before it are written (or in `_later`)

    def add(self, position: int, part: pd.DataFrame | ArrowPart) -> None:
        """Part `position` of the table: a DataFrame, or an `ArrowPart` (its file is taken over)."""
        if position < 0:
            raise ValueError(f"part {position}: positions start at 0")
        if position in self._spilled or position < self._next:
            raise ValueError(f"part {position} was added twice")
        if isinstance(part, ArrowPart):
            self._spilled[position] = (part.file, part.dtypes)  # waits in its file, or is taken now
            self._take_waiting()
            return
        arrow, dtypes = pa.Table.from_pandas(part, preserve_index=False), tuple(str(t) for t in part.dtypes)
        if position != self._next:
            self._spilled[position] = (self._spill(position, arrow), dtypes)
            return
        self._take_table(arrow, dtypes, lambda table: self._spill(position, table))
        del arrow  # held by the pending rows only, which joining into a row group lets go
        self._next += 1
        self._take_waiting()

    def _take_waiting(self) -> None:
        """The spilled parts that are next in order, into the file."""
        while self._next in self._spilled:
            file, dtypes = self._spilled.pop(self._next)
            self._take(file, dtypes)
            if self._later is None:
                file.unlink()  # its rows are in the file or pending (a mapping outlives the name): disk freed
            self._next += 1

    def _spill(self, position: int, arrow: pa.Table) -> Path:
        file = self.folder / f"part-{position:09d}-{uuid.uuid4().hex[:8]}.arrow"
        options = pa.ipc.IpcWriteOptions(compression="lz4")
        with pa.OSFile(str(file), "wb") as sink, pa.ipc.new_file(sink, arrow.schema, options=options) as writer:
            writer.write_table(arrow)
        return file

    def _take(self, file: Path, dtypes: tuple[str, ...]) -> None:
        """The next part (spilled in `file`): into the row groups, or (types differ) kept for pandas to join."""
        self._take_table(_read_ipc(file), dtypes, lambda _: file)

    def _take_table(self, arrow: pa.Table, dtypes: tuple[str, ...], file_of) -> None:
        """The next part: into the row groups, or (types differ from the first part's) kept for
        pandas to join, in the file `file_of(arrow)` gives."""
        if self._writer is None and self._later is None:
            self._schema, self._dtypes = arrow.schema, dtypes
            if any(pa.types.is_dictionary(f.type) for f in arrow.schema):
                self._later = []  # categories: pandas decides how parts of other categories join
            else:
                self._writer = pq.ParquetWriter(self.path, arrow.schema, compression="snappy")
        if self._later is None and (dtypes != self._dtypes or not arrow.schema.equals(self._schema, check_metadata=True)):
            self._fall_back()
        if self._later is not None:
            self._later.append((file_of(arrow), dtypes))
            return
        self._pending.append(arrow)
        del arrow  # joining the list then lets the part's buffers go
        held = sum(t.num_rows for t in self._pending)
        if held >= ROW_GROUP_ROWS:
            joined = _joined(self._pending, self._schema)  # empties the list
            full = held - held % ROW_GROUP_ROWS
            for start in range(0, full, ROW_GROUP_ROWS):
                self._writer.write_table(joined.slice(start, ROW_GROUP_ROWS), row_group_size=ROW_GROUP_ROWS)
            # the rest in buffers of its own: a slice would hold the joined buffers until the next row group
            self._pending, self._rows = [_joined([joined.slice(full)], self._schema)], self._rows + full

    def _fall_back(self) -> None:
        """A part of other columns or types: what is written so far becomes the head the parts after
        it are joined to by pd.concat, with pandas' rules for mixed types."""
        self._flush()
        head = self.folder / "head.parquet"
        shutil.move(self.path, head)
        self._later = [(head, self._dtypes)]

    def _flush(self) -> None:
        joined = _joined(self._pending, self._schema) if self._pending else None
        if joined is not None and (joined.num_rows or not self._rows):
            self._writer.write_table(joined, row_group_size=ROW_GROUP_ROWS)
            self._rows += joined.num_rows
        self._pending = []
        self._writer.close()
        self._writer = None

    def finish(self, parts: int) -> StoredTable:
        """Write what is left and close the file: positions 0 to parts - 1 must all have been added.
        The spilled files are deleted."""
        try:
            added = set(range(self._next)) | set(self._spilled)  # written, or waiting in files
            missing = sorted(set(range(parts)) - added)
            if missing:
                raise ValueError(f"part(s) {missing} of {parts} never added; the table would lack their rows")
            beyond = sorted(p for p in added if p >= parts)
            if beyond:
                raise ValueError(f"part(s) {beyond} beyond the {parts} expected")
            if not parts:
                raise ValueError("no part was added")
            self._take_waiting()
            if self._later is None:
                self._flush()
                return StoredTable.at(self.path, self._rows, self._schema.names, self._dtypes)
            frames = [_frame_of(_read_file(file), dtypes) for file, dtypes in self._later]
            whole = contiguous(pd.concat(frames, ignore_index=True))
            write_parquet(whole, self.path)
            return StoredTable.at(self.path, len(whole), map(str, whole.columns), (str(t) for t in whole.dtypes))
        finally:
            self.discard()

    def discard(self) -> None:
        """Close the file and delete the spilled parts (after `finish`, or when the parts' run failed)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        shutil.rmtree(self.folder, ignore_errors=True)


def _joined(tables: list[pa.Table], schema: pa.Schema) -> pa.Table:
    """The rows of `tables` (of `schema`) as one table of new buffers, one chunk a column: what
    `pa.concat_tables(tables).combine_chunks()` gives, built a column at a time. The list is emptied
    as it goes, each column's old buffers let go once copied, so the extra memory is one column
    rather than the whole table."""
    columns = []
    for name in schema.names:
        chunks = [chunk for table in tables for chunk in table.column(name).chunks]
        columns.append(pa.concat_arrays(chunks) if chunks else pa.array([], schema.field(name).type))
        del chunks
        tables[:] = [table.drop_columns([name]) for table in tables]
    tables.clear()
    return pa.Table.from_arrays(columns, schema=schema)


def _frame_of(arrow: pa.Table, dtypes: tuple[str, ...]) -> pd.DataFrame:
    return restore_dtypes(arrow.to_pandas(), dict(zip(arrow.schema.names, dtypes)))


def _read_ipc(file: Path) -> pa.Table:
    with pa.memory_map(str(file)) as source:
        return pa.ipc.open_file(source).read_all()


def _read_file(file: Path) -> pa.Table:
    """A spilled part (Arrow IPC) or the head written before a fall-back (Parquet)."""
    return pq.read_table(file) if file.suffix == ".parquet" else _read_ipc(file)


def map_from_disk(tables: list[tuple[pd.DataFrame, list[str] | None]], folder) -> bool:
    """Hand the named columns of each table (None: every column) to memory-mapped files, in place:
    each column becomes the same values (same dtype, same index) read from a file in `folder`,
    deleted at once (the mapping keeps it until the column goes). Their bytes then sit in the
    system's page cache rather than in this process's memory: a forked worker's resident memory
    counts only the pages it reads (a fork copies the page tables of a process's own memory, not
    those of a mapped file), and the system can drop them and read them again when short of memory.

    Arrow-backed strings are read from an Arrow IPC file (read-only, as Arrow's buffers always are);
    NumPy numbers and booleans, and a categorical's codes, from a private mapping of their bytes:
    writing to such a column copies the pages written, in this process only, and never the file.
    Columns of other dtypes (objects, dates), empty ones and ones mapped already are left as they are.
    Returns False, changing nothing, where a mapped file cannot be deleted (Windows) or a file cannot
    be written (the columns then stay held), or where there is nothing to map."""
    if os.name == "nt":
        return False
    wanted = [(table, name) for table, names in tables for name in (table.columns if names is None else names)
              if (_arrow_strings(table[name]) or _numpy_values(table[name]) is not None)
              and len(table) and not _mapped_already(table[name])]
    if not wanted:
        return False
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    strings = [(table, name) for table, name in wanted if _arrow_strings(table[name])]
    numbers = [(table, name) for table, name in wanted if not _arrow_strings(table[name])]
    try:
        mapped_strings = [_through_mapped_file(table[name].array.__arrow_array__(), folder) for table, name in strings]
        mapped_numbers = _arrays_through_mapped_file([_numpy_values(table[name]) for table, name in numbers], folder)
    except OSError:
        return False
    for (table, name), values in zip(strings, mapped_strings):
        table[name] = pd.Series(type(table[name].array)(values, dtype=table[name].dtype), index=table.index)
    for (table, name), values in zip(numbers, mapped_numbers):
        dtype = table[name].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            values = pd.Categorical.from_codes(values, dtype=dtype, validate=False)
        table[name] = pd.Series(values, index=table.index, copy=False)
    return True


def map_arrays_from_disk(arrays: list[np.ndarray], folder) -> list[np.ndarray]:
    """NumPy arrays as `map_from_disk` hands number columns over: the same values read from one
    memory-mapped file in `folder` (a private mapping: a write copies the page, in this process only),
    or the arrays themselves where that cannot be done (as `map_from_disk` says)."""
    if os.name == "nt":
        return arrays
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return _arrays_through_mapped_file(arrays, folder)
    except OSError:
        return arrays


def _arrow_strings(column: pd.Series) -> bool:
    return isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow"


def _numpy_values(column: pd.Series) -> np.ndarray | None:
    """The NumPy array holding a column of numbers or booleans (a categorical's: its codes), or None."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        values = column.array.codes
    elif isinstance(column.dtype, np.dtype):
        values = column.to_numpy(copy=False)
    else:
        return None
    return values if values.dtype.kind in "biuf" and values.ndim == 1 else None


def _mapped_already(column: pd.Series) -> bool:
    """Whether a column's values are read from a mapping already (so mapping them again is skipped):
    Arrow buffers that are all immutable (Arrow's own allocations are mutable), or NumPy values on a
    memory map."""
    if _arrow_strings(column):
        buffers = [b for chunk in column.array.__arrow_array__().chunks for b in chunk.buffers() if b is not None]
        return bool(buffers) and not any(b.is_mutable for b in buffers)
    base = _numpy_values(column)
    while base is not None and not isinstance(base, mmap.mmap):
        base = base.base if isinstance(base, np.ndarray) else getattr(base, "obj", None)
    return base is not None


def _arrays_through_mapped_file(arrays: list[np.ndarray], folder: Path) -> list[np.ndarray]:
    """The arrays written one after another to a file and read back from its private memory mapping
    (writable: a write copies the page, in this process only), the file deleted."""
    if sum(a.nbytes for a in arrays) == 0:
        return arrays
    file = folder / f"mapped-{uuid.uuid4().hex[:12]}.bin"
    try:
        offsets, position = [], 0
        with open(file, "wb") as out:
            for values in arrays:
                padding = -position % 64  # each array starts aligned
                out.write(b"\0" * padding)
                offsets.append(position + padding)
                out.write(np.ascontiguousarray(values).view(np.uint8).data)
                position += padding + values.nbytes
        with open(file, "rb") as source:
            mapping = mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_COPY)
    finally:
        file.unlink(missing_ok=True)
    return [np.frombuffer(mapping, dtype=values.dtype, count=len(values), offset=offset)
            for values, offset in zip(arrays, offsets)]


def _through_mapped_file(values: pa.ChunkedArray, folder: Path) -> pa.ChunkedArray:
    """`values` written to an Arrow IPC file and read back from its memory mapping (the file deleted)."""
    file = folder / f"mapped-{uuid.uuid4().hex[:12]}.arrow"
    try:
        with pa.OSFile(str(file), "wb") as sink, pa.ipc.new_file(sink, pa.schema([("values", values.type)])) as out:
            out.write_table(pa.table({"values": values}))
        return _read_ipc(file).column(0)  # uncompressed, so the buffers are the mapping's own pages
    finally:
        file.unlink(missing_ok=True)


MAPPED_FILE = re.compile(r"/mapped-[0-9a-f]{12}\.(?:bin|arrow)(?: \(deleted\))?$")  # the files map_from_disk makes
_MADV_DONTNEED = 4  # Linux's value


def release_mapped_pages() -> int:
    """Hand back the pages this process has read of the mapped tables' files (`map_from_disk`), and
    return how many bytes: they stay in the system's page cache, so reading them again maps them in
    from there, but this process's resident memory stops counting them, as it counts them again in
    every process that has read them. A page this process wrote (a private mapping's copy) or that
    went to swap is left, since giving it back would lose the write. Where the page map or madvise
    is unavailable (not Linux), nothing is released (0)."""
    madvise = _madvise()
    if madvise is None:
        return 0
    try:
        with open("/proc/self/maps") as maps:
            ranges = [[int(end, 16) for end in line.split(None, 1)[0].split("-")]
                      for line in maps if MAPPED_FILE.search(line.rstrip("\n"))]
        if not ranges:
            return 0
        released = 0
        with open("/proc/self/pagemap", "rb") as pagemap:
            for start, end in ranges:
                pagemap.seek(start // mmap.PAGESIZE * 8)
                entries = np.frombuffer(pagemap.read((end - start) // mmap.PAGESIZE * 8), dtype=np.uint64)
                present, swapped, file_page = (((entries >> np.uint64(bit)) & np.uint64(1)).astype(bool)
                                                for bit in (63, 62, 61))
                read = present & file_page
                kept = swapped | (present & ~file_page)  # written (a private copy) or swapped out
                # the runs of pages between kept ones, each given back whole if it holds a page read
                bounds = np.concatenate([[-1], np.flatnonzero(kept), [len(entries)]])
                firsts, stops = bounds[:-1] + 1, bounds[1:]
                read_before = np.concatenate([[0], np.cumsum(read)])
                n_read = read_before[stops] - read_before[firsts]
                for first, stop, n in zip(firsts[n_read > 0], stops[n_read > 0], n_read[n_read > 0]):
                    if madvise(start + int(first) * mmap.PAGESIZE, int(stop - first) * mmap.PAGESIZE,
                               _MADV_DONTNEED) == 0:
                        released += int(n) * mmap.PAGESIZE
        return released
    except OSError:
        return 0


@functools.cache
def _madvise():
    if not sys.platform.startswith("linux"):
        return None
    try:
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    madvise.argtypes, madvise.restype = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int], ctypes.c_int
    return madvise
