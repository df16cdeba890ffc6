"""DataFrame helpers shared by the steps.

`labels_at`: a table of a million estimates repeats a few dozen labels (measures, voices,
warnings). Building such a column from an object array converts every Python string one by one;
taking the labels by code in Arrow does the same in one vectorised step, with the same values and
the same dtype. `contiguous` and `write_parquet`: the same table gives the same bytes whether it
was concatenated from chunks or read back whole.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

WRITE_THREADS = 2  # Parquet files written at once (Arrow encodes and compresses outside the GIL)


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
    pq.write_table(arrow, path, compression="snappy")


def write_parquet_files(tables, paths) -> None:
    """`write_parquet` of each table to its path, WRITE_THREADS files at a time."""
    with ThreadPoolExecutor(WRITE_THREADS) as pool:
        list(pool.map(write_parquet, tables, paths))
