"""The public entry points: load_corpus (corpus + text steps) and the table writer."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import text as text_model
from analysis.corpus import (
    DOCUMENT_COLUMNS,
    CorpusError,
    apply_grouping,
    clean_corpus,
    corpus_id,
    load_rules,
    read_folder,
)
from analysis.tables import read_table

CORPUS_TABLES = ("documents", "sentences", "spans", "cleaning_report", "exclusions")


@dataclass
class Corpus:
    """Documents with clean text, their sentences and voice spans, and what cleaning did.

    `documents` also holds `clean_text`, `raw_text` and `offset_map` (not written to disk) and
    `group`, the documents' groups under the grouping asked for.
    """

    documents: pd.DataFrame
    paragraphs: pd.DataFrame
    sentences: pd.DataFrame
    spans: pd.DataFrame
    cleaning_report: pd.DataFrame
    exclusions: pd.DataFrame
    source: str

    @property
    def corpus_hash(self) -> str:
        return corpus_id(self.documents)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The contract's corpus tables, columns in contract order."""
        extra = [c for c in ("dateline",) if c in self.documents.columns]
        return {
            "documents": self.documents[DOCUMENT_COLUMNS + extra],
            "sentences": self.sentences,
            "spans": self.spans,
            "cleaning_report": self.cleaning_report,
            "exclusions": self.exclusions,
        }

    def write(self, out: str | Path, *, fmt: str = "csv") -> list[Path]:
        """Write the corpus tables to `out` (one file each, named as in the contract)."""
        return write_tables(self.tables(), out, fmt=fmt)


def write_tables(tables: dict[str, pd.DataFrame], out: str | Path, *, fmt: str = "csv") -> list[Path]:
    """Write tables deterministically: CSV with '\n' line ends and fixed column order, or Parquet."""
    if fmt not in {"csv", "parquet"}:
        raise ValueError(f"format {fmt!r} is not one of csv, parquet")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, table in tables.items():
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            table.to_csv(path, index=False, lineterminator="\n")
        else:
            table.to_parquet(path, index=False)
        paths.append(path)
    return paths


def load_corpus(path, *, text_col=None, outlet_col=None, id_col=None, date_col=None, title_col=None,
                url_col=None, author_col=None, group_col=None, grouping=None, rules=None) -> Corpus:
    """Load a corpus: a folder of .txt with manifest.csv, or a CSV / JSONL / Parquet article table.

    Cleans each text with the boilerplate rules (`rules`: a CSV in the packaged format; default
    the packaged rules), marks syndicated copies, and splits sentences and voices. Anything left
    out is in `exclusions` (and warned about).
    """
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"{path} does not exist; pass a folder with manifest.csv or an article table "
                          "(.csv, .jsonl, .parquet)")
    if path.is_dir():
        raw_docs, exclusions = read_folder(path)
    else:
        raw_docs, exclusions = read_table(path, text_col=text_col, outlet_col=outlet_col, id_col=id_col,
                                          date_col=date_col, title_col=title_col, url_col=url_col,
                                          author_col=author_col, group_col=group_col)
    for exclusion in exclusions:
        warnings.warn(f"{path}: {exclusion['reason']}", stacklevel=2)
    if raw_docs.empty:
        raise CorpusError(f"{path}: no usable document; see the reasons: "
                          + "; ".join(e["reason"] for e in exclusions))
    clean = clean_corpus(raw_docs, exclusions, load_rules(rules))
    documents = clean.documents
    sentences, spans = text_model.build_text_tables(documents, clean.paragraphs)
    documents["n_words"] = documents["clean_text"].map(text_model.count_words)
    documents["n_sentences"] = documents["doc_id"].map(sentences.groupby("doc_id").size()).fillna(0).astype(int)
    documents["group"] = apply_grouping(documents, grouping)
    return Corpus(documents, clean.paragraphs, sentences, spans, clean.cleaning_report, clean.exclusions, str(path))
