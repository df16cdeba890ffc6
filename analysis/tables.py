"""Article tables (CSV, JSONL, Parquet) as corpus input, with the contract's column mapping.

Tables are read in chunks of rows (pandas `chunksize` for CSV, line by line for JSONL, pyarrow
`iter_batches` for Parquet), so a table larger than memory never has to be read whole. Every row
left out or decoded with a fallback is a row of the exclusions table, with its reason.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from analysis.corpus import MANIFEST_COLUMNS, CorpusError, _exclusion, _fixed_text, decode_bytes

TABLE_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
                  ".pq": "parquet"}
CHUNK_ROWS = 1000
# Where each mapped column lands among the manifest's columns.
MAPPED = (("text", "text_col"), ("outlet", "outlet_col"), ("doc_id", "id_col"), ("published", "date_col"),
          ("headline", "title_col"), ("url", "url_col"), ("author", "author_col"), ("outlet_group", "group_col"))
# Surrogates stand for bytes that are not UTF-8 (read with errors="surrogateescape").
_UNDECODED = re.compile("[\udc80-\udcff]")
_WHITESPACE = re.compile(r"\s")


def table_kind(path: Path) -> str:
    """csv | jsonl | parquet, from the file suffix."""
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise CorpusError(f"{path}: unknown table format {path.suffix!r}; use one of {sorted(TABLE_SUFFIXES)} "
                          "or a folder of .txt files with manifest.csv")
    return kind


def _cell(value) -> str:
    """A table value as text: missing is "", numbers and dates their usual text, nested JSON as JSON."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _csv_chunks(path: Path, rows: int) -> Iterator[tuple[list[str], list[int], list[dict]]]:
    header = pd.read_csv(path, nrows=0, encoding="utf-8-sig", encoding_errors="surrogateescape")
    yield list(header.columns), [], []
    reader = pd.read_csv(path, dtype=object, keep_default_na=False, encoding="utf-8-sig",
                         encoding_errors="surrogateescape", chunksize=rows)
    for frame in reader:
        yield list(frame.columns), (frame.index + 1).tolist(), frame.to_dict("records")


def _jsonl_chunks(path: Path, rows: int) -> Iterator[tuple[list[str], list[int], list[dict]]]:
    """Records of a JSON-lines file; a line that is not a JSON object is an error naming the line."""
    columns: dict[str, None] = {}
    numbers, records, announced = [], [], False
    with open(path, "rb") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                # Bytes that are not UTF-8 stay as surrogates, decoded and reported per cell like a CSV's.
                record = json.loads(line.decode("utf-8-sig" if line_no == 1 else "utf-8", "surrogateescape"))
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{path} line {line_no}: not a JSON object ({exc.msg} at column {exc.colno}); "
                                  "a JSONL table has one JSON object per line") from exc
            if not isinstance(record, dict):
                raise CorpusError(f"{path} line {line_no}: a JSON {type(record).__name__}, not an object; a JSONL "
                                  "table has one JSON object per line")
            columns.update(dict.fromkeys(record))
            numbers.append(line_no)
            records.append(record)
            if not announced:
                yield list(columns), [], []
                announced = True
            if len(records) >= rows:
                yield list(columns), numbers, records
                numbers, records = [], []
    if not announced:
        yield [], [], []
    if records:
        yield list(columns), numbers, records


def _parquet_chunks(path: Path, rows: int, wanted: list[str]) -> Iterator[tuple[list[str], list[int], list[dict]]]:
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    names = list(file.schema_arrow.names)
    yield names, [], []
    start = 1
    for batch in file.iter_batches(batch_size=rows, columns=[c for c in wanted if c in names]):
        records = batch.to_pylist()
        yield names, list(range(start, start + len(records))), records
        start += len(records)


def _decoded(value, path: Path, doc_id: str, row: int, column: str, exclusions: list[dict]) -> str:
    """A cell as text; bytes that are not UTF-8 are decoded with a fallback and reported."""
    if isinstance(value, bytes):
        text, fallback = decode_bytes(value)
    else:
        text = _cell(value)
        if not _UNDECODED.search(text):
            return text
        text, fallback = decode_bytes(text.encode("utf-8", "surrogateescape"))
    if fallback:
        exclusions.append(_exclusion(path.name, doc_id, row, f"{path.name} row {row}: column {column!r}: {fallback}",
                                     "decoded_with_fallback"))
    return text


def check_mapping(path: Path, columns: list[str], mapping: dict[str, str | None]) -> None:
    """Every mapped column must be in the table; the error lists the columns there are."""
    missing = {k: v for k, v in mapping.items() if v and v not in columns}
    if missing:
        raise CorpusError(f"{path}: column(s) {sorted(missing.values())} not found (mapped as "
                          f"{', '.join(f'{k}={v!r}' for k, v in missing.items())}); available columns: "
                          f"{list(columns)}")


def iter_table(path: Path, *, text_col: str | None, outlet_col: str | None, id_col: str | None = None,
               date_col: str | None = None, title_col: str | None = None, url_col: str | None = None,
               author_col: str | None = None, group_col: str | None = None,
               chunk_rows: int = CHUNK_ROWS) -> Iterator[tuple[pd.DataFrame, list[dict]]]:
    """Chunks of an article table as raw documents (the manifest's columns), each with its exclusions.

    Text and outlet columns are required; the others are optional. A missing mapped column is an
    error listing the table's columns. Rows with empty text or outlet and repeated ids (across the
    whole table) are excluded with their reason; cells with bytes that are not UTF-8 are decoded
    with a fallback (cp1252, else U+FFFD) and reported. A title column is the document's headline
    (`headline_from` = "title": cleaning makes it the headline section if the text lacks it).
    """
    if not text_col or not outlet_col:
        raise CorpusError(f"{path}: an article table needs --text-col and --outlet-col (text_col=, outlet_col=)")
    given = {"text_col": text_col, "outlet_col": outlet_col, "id_col": id_col, "date_col": date_col,
             "title_col": title_col, "url_col": url_col, "author_col": author_col, "group_col": group_col}
    mapping = {field: given[arg] for field, arg in MAPPED}
    kind = table_kind(path)
    if kind == "csv":
        chunks = _csv_chunks(path, chunk_rows)
    elif kind == "jsonl":
        chunks = _jsonl_chunks(path, chunk_rows)
    else:
        chunks = _parquet_chunks(path, chunk_rows, [c for c in mapping.values() if c])
    columns, _, _ = next(chunks)
    check_mapping(path, columns, mapping)
    seen: dict[str, int] = {}
    for _, row_numbers, records in chunks:
        rows, exclusions = [], []
        for row_no, record in zip(row_numbers, records):
            doc = _document(path, row_no, record, mapping, seen, exclusions)
            if doc is not None:
                rows.append(doc)
        yield pd.DataFrame(rows, columns=[*MANIFEST_COLUMNS, "source_file", "raw_text", "row", "headline_from"]), \
            exclusions


def _document(path: Path, row_no: int, record: dict, mapping: dict, seen: dict, exclusions: list[dict]) -> dict | None:
    """One table row as a raw document, or None (with the reason in `exclusions`)."""
    where = f"{path.name} row {row_no}"
    id_col = mapping["doc_id"]
    doc_id = _decoded(record.get(id_col), path, "", row_no, id_col, exclusions).strip() if id_col else f"row{row_no}"
    if not doc_id:
        exclusions.append(_exclusion(path.name, "", row_no, f"{where}: empty id in {id_col!r}", "dropped"))
        return None
    if doc_id in seen:
        exclusions.append(_exclusion(path.name, doc_id, row_no, f"{where}: duplicate id {doc_id!r} (first at row "
                                     f"{seen[doc_id]}); ids must be unique", "dropped"))
        return None
    seen[doc_id] = row_no
    values = {field: _decoded(record.get(col), path, doc_id, row_no, col, exclusions)
              for field, col in mapping.items() if col and field != "doc_id"}
    if not values["text"].strip():
        exclusions.append(_exclusion(path.name, doc_id, row_no, f"{where}: empty text in {mapping['text']!r}",
                                     "dropped"))
        return None
    if not values["outlet"].strip():
        exclusions.append(_exclusion(path.name, doc_id, row_no, f"{where}: empty outlet in {mapping['outlet']!r}",
                                     "dropped"))
        return None
    doc = dict.fromkeys(MANIFEST_COLUMNS, "")
    doc.update({field: value.strip() for field, value in values.items() if field != "text"})
    # A title is one line: each line break becomes a space (one for one, so offsets into the stripped
    # title cell hold).
    doc["headline"] = _WHITESPACE.sub(" ", doc["headline"])
    doc.update(doc_id=doc_id, file=path.name, source_file=where, raw_text=_fixed_text(values["text"]), row=row_no,
               headline_from="title" if mapping["headline"] else "")
    return doc


def read_table(path: Path, **options) -> tuple[pd.DataFrame, list[dict]]:
    """The whole table at once (`iter_table`'s chunks joined): raw documents and exclusions."""
    frames, exclusions = [], []
    for frame, excluded in iter_table(path, **options):
        frames.append(frame)
        exclusions += excluded
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(), exclusions
