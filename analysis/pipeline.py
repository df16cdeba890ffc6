"""The public entry points: load_corpus (corpus + text steps) and the table writer."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pandas as pd

from analysis import actors as actors_mod
from analysis import compare, measures
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
from analysis.provenance import DATA_DIR, __version__, code_hash, file_version
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


# --------------------------------------------------------------------------- measure

MEASURE_TABLES = ("matches", "sentence_scores", "estimates", "differences", "distinctive_terms", "actor_labels",
                  "attribution", "sourcing")
ENGINES = ("pandas",)
DEFAULT_MASK = DATA_DIR / "topic_mask.csv"


def _mask_words(mask) -> list[str]:
    """Topic words to neutralise: a CSV with a `word` column, or a list of words."""
    if mask is None:
        mask = DEFAULT_MASK
    if isinstance(mask, (str, Path)):
        table = pd.read_csv(mask, dtype=str, keep_default_na=False)
        if "word" not in table.columns:
            raise ValueError(f"mask file {mask}: needs a column `word` (found {list(table.columns)})")
        return sorted(set(table["word"].str.strip()) - {""})
    return sorted(set(mask))


def _check_groups(groups: pd.Series, group_a, group_b) -> tuple:
    """group_a / group_b must be groups of the grouping; group_b defaults to the rest."""
    valid = sorted(groups.dropna().unique())
    for name, value in (("group_a", group_a), ("group_b", group_b)):
        if value is not None and value not in valid and not (name == "group_b" and value == compare.REST):
            raise ValueError(f"{name}={value!r} is not a group of this grouping; valid groups: {valid}")
    if group_a is None and group_b is not None:
        raise ValueError("group_b needs group_a")
    return (group_a, group_b or compare.REST) if group_a is not None else None


def _grouping_label(grouping, documents: pd.DataFrame) -> str:
    """A grouping as provenance: a column name, or a file's name and version (never a machine path)."""
    if grouping is None:
        return "outlet_group"
    if isinstance(grouping, str) and grouping in documents.columns:
        return grouping
    return f"{Path(grouping).name}@{file_version(grouping)}"


def provenance_record(corpus: Corpus, lexicons: pd.DataFrame, actors: pd.DataFrame, params: dict) -> dict:
    """What identifies a result: corpus hash and doc ids, lexicon and data versions, code, parameters."""
    return {
        "corpus_hash": corpus.corpus_hash,
        "doc_ids": sorted(corpus.documents["doc_id"]),
        "lexicon_versions": measures.lexicon_versions(lexicons),
        "actors_version": str(actors["version"].iloc[0]) if len(actors) else "",
        "package_version": __version__,
        "code_hash": code_hash(),
        "vader_version": metadata.version("vaderSentiment"),
        "parameters": params,
    }


class Results(dict):
    """The result tables by name (a dict), with the corpus they came from and their provenance record."""

    def __init__(self, tables: dict[str, pd.DataFrame], *, corpus: Corpus, provenance: dict):
        super().__init__(tables)
        self.corpus = corpus
        self.provenance = provenance


def measure(corpus_or_path, *, out=None, lexicons=None, grouping=None, group_a=None, group_b=None,
            dedup="drop_copies", mask=None, actors=None, alpha_0=None, seed=0, engine="pandas", workers=1,
            n_boot=2000, n_perm=10000, doc_intervals=False, fmt="csv") -> Results:
    """Every measure of a corpus: matches, sentence scores, estimates, differences, distinctive terms,
    actor labels, attribution verbs and sourcing.

    Estimates are per document (intervals only with doc_intervals=True), outlet and group; each group
    is contrasted with the rest, plus group_a against group_b when given. With `out`, the tables are
    written there (CSV, or Parquet with fmt="parquet") with `provenance.json`. The returned
    `Results` is a dict of the tables that also carries `.corpus` and `.provenance`.
    """
    if dedup not in compare.DEDUP:
        raise ValueError(f"dedup={dedup!r} is not one of {list(compare.DEDUP)}")
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r} is not available; choose one of {list(ENGINES)}")
    if workers != 1:
        raise ValueError(f"workers={workers!r}: this version runs in one process; use workers=1")
    corpus = corpus_or_path if isinstance(corpus_or_path, Corpus) else load_corpus(corpus_or_path, grouping=grouping)
    if grouping is not None and isinstance(corpus_or_path, Corpus):
        corpus.documents["group"] = apply_grouping(corpus.documents, grouping)
    docs, sentences, spans = corpus.documents, corpus.sentences, corpus.spans
    pair = _check_groups(docs["group"], group_a, group_b)
    lexicon_table = measures.load_lexicons(lexicons)
    actor_table = actors_mod.load_actors(actors)
    mask_words = _mask_words(mask)

    raw = measures.match_documents(docs, measures.compile_matcher(lexicon_table))
    raw = pd.concat([raw, measures.scare_quote_matches(docs, spans)], ignore_index=True)
    matches = measures.annotate_matches(raw, docs, sentences, spans)
    word_totals = text_model.word_voice_totals(docs, sentences, spans)

    scores = measures.score_sentences(sentences).merge(
        measures.score_sentences_masked(sentences, mask_words), on=["doc_id", "sentence_id"])
    scores = (sentences[["doc_id", "sentence_id", "section"]]
              .merge(measures.sentence_voice(word_totals), on=["doc_id", "sentence_id"], how="left")
              .merge(scores, on=["doc_id", "sentence_id"]))
    scores["voice"] = scores["voice"].fillna("own")
    scores = scores[["doc_id", "sentence_id", "voice", "compound", "pos", "neu", "neg", "compound_masked",
                     "section"]]

    doc_units = docs[["doc_id", "outlet", "group"]].assign(exclude_body=docs["duplicate_of"] != "")
    counts = measures.match_counts(matches)
    options = {"seed": seed, "dedup": dedup}
    units = (("document", "doc_id"), ("outlet", "outlet"), ("group", "group"))
    estimates = []
    for unit_type, unit_col in units:
        boot = n_boot if unit_type != "document" or doc_intervals else 0
        estimates.append(compare.estimate_rates(counts, word_totals, doc_units, unit_type=unit_type,
                                                unit_col=unit_col, n_boot=boot, **options))
        for score_col, suffix in (("compound", ""), ("compound_masked", "_masked")):
            part = compare.estimate_sentiment(scores, doc_units, unit_type=unit_type, unit_col=unit_col,
                                              n_boot=boot, score_col=score_col, **options)
            estimates.append(part.assign(measure=part["measure"] + suffix))

    mentions = actors_mod.actor_mentions(docs, sentences, spans, actor_table)
    for actor, sents in actors_mod.actor_sentences(mentions).groupby("actor", sort=True):
        subset = scores.merge(sents[["doc_id", "sentence_id"]], on=["doc_id", "sentence_id"])
        for unit_type, unit_col in units[1:]:
            part = compare.estimate_sentiment(subset, doc_units, unit_type=unit_type, unit_col=unit_col,
                                              n_boot=n_boot, **options)
            estimates.append(part.assign(lexicon=actors_mod.ACTOR_LEXICON, category=actor))
    estimates = pd.concat(estimates, ignore_index=True)

    grouped = doc_units.dropna(subset=["group"])
    differences = compare.contrast_all(counts, word_totals, scores, grouped, group_col="group", pair=pair,
                                       n_boot=n_boot, n_perm=n_perm, **options)
    terms = measures.term_counts(docs, sentences, spans)
    contrasts = [(g, compare.REST) for g in sorted(grouped["group"].unique())] + ([pair] if pair else [])
    distinctive = pd.concat([compare.distinctive_terms(terms, grouped, group_col="group", group_a=a, group_b=b,
                                                       alpha_0=alpha_0, dedup=dedup) for a, b in contrasts],
                            ignore_index=True)

    tables = {
        "matches": matches,
        "sentence_scores": scores,
        "estimates": estimates,
        "differences": differences,
        "distinctive_terms": distinctive,
        "actor_labels": actors_mod.actor_labels(mentions, docs),
        "attribution": actors_mod.attribution_verbs(matches, spans),
        "sourcing": actors_mod.sourcing(docs, spans, word_totals, matches),
    }
    params = {"grouping": _grouping_label(grouping, docs), "group_a": group_a,
              "group_b": group_b, "dedup": dedup, "mask": mask_words, "alpha_0": alpha_0, "seed": seed,
              "n_boot": n_boot, "n_perm": n_perm, "doc_intervals": doc_intervals}
    record = provenance_record(corpus, lexicon_table, actor_table, params)
    if out is not None:
        write_tables({**corpus.tables(), **tables}, out, fmt=fmt)
        (Path(out) / "provenance.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return Results(tables, corpus=corpus, provenance=record)
