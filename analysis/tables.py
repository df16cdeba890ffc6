"""Article tables (CSV, JSONL, Parquet) as corpus input, with the contract's column mapping."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.corpus import MANIFEST_COLUMNS, CorpusError, _exclusion, _fixed_text

TABLE_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet"}


def read_table_file(path: Path) -> pd.DataFrame:
    """Read an article table as strings; the format comes from the file suffix."""
    kind = TABLE_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise CorpusError(f"{path}: unknown table format {path.suffix!r}; use one of {sorted(TABLE_SUFFIXES)} "
                          "or a folder of .txt files with manifest.csv")
    if kind == "csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    if kind == "jsonl":
        return pd.read_json(path, lines=True, dtype=False).astype("string").fillna("").astype(object)
    return pd.read_parquet(path).astype("string").fillna("").astype(object)


def read_table(path: Path, *, text_col: str | None, outlet_col: str | None, id_col: str | None = None,
               date_col: str | None = None, title_col: str | None = None, url_col: str | None = None,
               author_col: str | None = None, group_col: str | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Rows of an article table as raw documents (the manifest's columns), plus exclusions.

    Text and outlet columns are required; the others are optional. Rows with empty text and repeated
    ids are excluded and listed, never dropped silently.
    """
    if not text_col or not outlet_col:
        raise CorpusError(f"{path}: an article table needs --text-col and --outlet-col (text_col=, outlet_col=)")
    table = read_table_file(path)
    mapping = {"text": text_col, "outlet": outlet_col, "doc_id": id_col, "published": date_col,
               "headline": title_col, "url": url_col, "author": author_col, "outlet_group": group_col}
    missing = {k: v for k, v in mapping.items() if v and v not in table.columns}
    if missing:
        raise CorpusError(f"{path}: column(s) {sorted(missing.values())} not found (mapped as "
                          f"{', '.join(f'{k}={v!r}' for k, v in missing.items())}); available columns: "
                          f"{list(table.columns)}")
    rows, exclusions, seen = [], [], {}
    for row_no, record in enumerate(table.to_dict("records"), start=1):
        doc_id = str(record[id_col]).strip() if id_col else f"row{row_no}"
        where = f"{path.name} row {row_no}"
        if not doc_id:
            exclusions.append(_exclusion(path.name, "", row_no, f"{where}: empty id in {id_col!r}", "dropped"))
            continue
        if doc_id in seen:
            exclusions.append(_exclusion(path.name, doc_id, row_no, f"{where}: duplicate id {doc_id!r} (first at row "
                                         f"{seen[doc_id]}); ids must be unique", "dropped"))
            continue
        seen[doc_id] = row_no
        text = str(record[text_col])
        if not text.strip():
            exclusions.append(_exclusion(path.name, doc_id, row_no, f"{where}: empty text in {text_col!r}", "dropped"))
            continue
        if not str(record[outlet_col]).strip():
            exclusions.append(_exclusion(path.name, doc_id, row_no, f"{where}: empty outlet in {outlet_col!r}",
                                         "dropped"))
            continue
        doc = {col: "" for col in MANIFEST_COLUMNS}
        doc.update({k: str(record[v]).strip() for k, v in mapping.items() if v and k != "text"})
        doc.update(doc_id=doc_id, file=path.name, source_file=f"{path.name} row {row_no}",
                   raw_text=_fixed_text(text), row=row_no)
        rows.append(doc)
    return pd.DataFrame(rows), exclusions
