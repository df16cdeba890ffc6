"""Compare: rates and sentiment per document, outlet and group with bootstrap intervals, group
differences with permutation tests, and distinctive terms by weighted log-odds.

Every function takes tidy DataFrames and returns one. Methods, formulas, references and the
decisions behind them are in `docs/statistics.md`.

Inputs (produced upstream by the measures step):
- counts: doc_id, sentence_id, lexicon, category, term, voice, section, count (lexicon matches)
- word_totals: doc_id, sentence_id, section, voice, n_words (every word counted once)
- doc_units: doc_id, outlet, a grouping column such as outlet_group, exclude_body (optional bool:
  the document's body is a syndicated copy)
- sentence_scores: doc_id, sentence_id, section, voice, compound (VADER; pos, neu, neg unused here)
- term_counts: doc_id, term, voice, section, count (word unigram counts)
"""

from __future__ import annotations

import hashlib
import itertools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import ndtr, ndtri  # the normal cdf and its inverse (scipy.stats.norm's own)

from analysis.frames import labels_at, positions
from analysis.provenance import keyed_rng

VOICES = ("own", "quoted", "reported")
SECTIONS = ("headline", "deck", "body", "caption", "added")
ALL = "all"
UNIT_TYPES = ("document", "outlet", "group")
DEDUP = ("drop_copies", "keep")
REST = "rest"
_NEITHER, _SIDE_A, _SIDE_B = 0, 1, 2  # rows of a contrast by side (`_term_sums`)
CI_UNITS = ("document", "sentence")  # what an interval resamples, by by_sentence
# VADER's conventional cut-offs (Hutto & Gilbert 2014).
NEGATIVE_AT, POSITIVE_AT = -0.05, 0.05

ESTIMATE_COLUMNS = [
    "unit_type", "unit", "measure", "lexicon", "category", "voice", "section", "value", "ci_low", "ci_high",
    "ci_method", "ci_unit", "count", "n_words", "n_docs", "warning",
]
DIFFERENCE_COLUMNS = [
    "group_a", "group_b", "measure", "lexicon", "category", "voice", "section", "difference", "ci_low",
    "ci_high", "ci_method", "ci_unit", "p_value", "min_p", "n_docs_a", "n_docs_b",
]
DISTINCTIVE_COLUMNS = [
    "group_a", "group_b", "voice", "section", "term", "count_a", "count_b", "log_odds", "z", "p_value",
    "q_value", "alpha_0", "prior",
]

# Cells are (voice, section) pairs including the "all" margins: 4 voices x 6 sections.
_CELL_VOICES = VOICES + (ALL,)
_CELL_SECTIONS = SECTIONS + (ALL,)
_N_SECTIONS = len(_CELL_SECTIONS)
_N_CELLS = len(_CELL_VOICES) * _N_SECTIONS
# Upper bound on the entries of one block of resample weights or permutation labels, to bound memory.
_BLOCK_ENTRIES = 4_000_000
# Large units: the normal interval from the linearized (Taylor) standard error of the ratio, the
# clusters (documents) as primary sampling units, instead of the percentile bootstrap, whose cost
# grows with draws x documents. Where it applies it matches the bootstrap's interval to a few
# percent of its width (docs/statistics.md); a cell with few non-zero documents keeps the bootstrap.
LINEAR_MIN_CLUSTERS = 200
LINEAR_MIN_NONZERO = 30


# ---------------------------------------------------------------------------------------------
# Validation and shared helpers


def _require(df: pd.DataFrame, name: str, columns) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it needs {list(columns)}")


def _check_choice(value, name: str, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; use one of {list(allowed)}")


def _codes(series: pd.Series, name: str, allowed) -> np.ndarray:
    """Integer codes of a voice or section column, with an error naming unknown values."""
    codes = positions(list(allowed), series)
    if (codes < 0).any():
        bad = sorted(map(str, pd.unique(series[codes < 0])))[:10]
        raise ValueError(f"{name} has unknown value(s) {bad}; expected one of {list(allowed)}")
    return codes.astype(np.int64)


def _check_params(n_boot: int, seed: int, confidence: float) -> None:
    if int(n_boot) != n_boot or n_boot < 0:
        raise ValueError(f"n_boot={n_boot!r} must be a non-negative integer")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence!r} must be between 0 and 1")


def _doc_table(doc_units: pd.DataFrame) -> pd.DataFrame:
    _require(doc_units, "doc_units", ["doc_id"])
    if doc_units["doc_id"].duplicated().any():
        dup = doc_units.loc[doc_units["doc_id"].duplicated(), "doc_id"].head(5).tolist()
        raise ValueError(f"doc_units must have one row per doc_id; repeated: {dup}")
    return doc_units


def _check_known_docs(df: pd.DataFrame, name: str, doc_units: pd.DataFrame) -> None:
    ids = pd.unique(df["doc_id"])
    unknown = ids[pd.Index(doc_units["doc_id"]).unique().get_indexer(ids) < 0]
    if len(unknown):
        raise ValueError(f"{name} has doc_id(s) missing from doc_units, e.g. {unknown[:5].tolist()}")


def _check_all_known(doc_units: pd.DataFrame, **tables: pd.DataFrame) -> None:
    """`_check_known_docs` of each table, named by its keyword."""
    for name, df in tables.items():
        _check_known_docs(df, name, doc_units)


def drop_copy_bodies(df: pd.DataFrame, doc_units: pd.DataFrame) -> pd.DataFrame:
    """The drop_copies rule: leave out the body rows of documents marked exclude_body; their other
    sections (a repost's headline, added lines) stay."""
    if "exclude_body" not in doc_units.columns:
        return df
    return df.loc[~_copy_body_rows(df, doc_units)]


def _copy_body_rows(df: pd.DataFrame, doc_units: pd.DataFrame) -> np.ndarray:
    """Which rows of df the drop_copies rule leaves out: body rows of documents marked exclude_body."""
    if "exclude_body" not in doc_units.columns:
        return np.zeros(len(df), bool)
    copies = doc_units.loc[doc_units["exclude_body"].fillna(False).astype(bool), "doc_id"]
    return (positions(copies.unique(), df["doc_id"]) >= 0) & (df["section"] == "body").to_numpy(bool, na_value=False)


def _doc_unit_map(doc_units: pd.DataFrame, unit_col: str) -> pd.Series:
    """doc_id -> unit label, documents without a unit left out."""
    _require(doc_units, "doc_units", ["doc_id", unit_col])
    units = doc_units.set_index("doc_id")[unit_col]
    return units[units.notna()]


def _percentiles(confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2
    return tail, 1 - tail


def _nanquantiles(draws: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval per row; draws with a zero denominator (NaN) are left out. The values of
    np.nanquantile(draws, ..., axis=1), which loops over the rows in Python: rows with the same
    number of valid draws go to np.quantile together, their NaNs sorted to the end and cut off."""
    out = np.full((2, draws.shape[0]), np.nan)
    q = np.asarray(_percentiles(confidence))
    valid = draws.shape[1] - np.isnan(draws).sum(axis=1)
    full = valid == draws.shape[1]
    partial = np.flatnonzero(~full & (valid > 0))  # no valid draw: NaN, as np.nanquantile gives
    with np.errstate(invalid="ignore"):  # an infinite draw: inf - inf between two order statistics
        if full.any():  # draws[full] is a copy, which np.quantile may reorder
            out[:, full] = np.quantile(draws[full], q, axis=1, overwrite_input=True)
        if len(partial):
            ordered = np.sort(draws[partial], axis=1)  # NaNs last
            for n in np.unique(valid[partial]).tolist():
                rows = valid[partial] == n
                out[:, partial[rows]] = np.quantile(ordered[rows, :n], q, axis=1, overwrite_input=True)
    return out[0], out[1]


# ---------------------------------------------------------------------------------------------
# Ratio measures: a numerator and a denominator per sentence, voice and section


@dataclass(frozen=True)
class _Ratio:
    """A ratio measure before aggregation. num rows: doc_id, sentence_id, q (measure index), v, s
    (voice and section codes), value; den rows: doc_id, sentence_id, v, s, value. labels has one
    row per q: measure, lexicon, category."""

    num: pd.DataFrame
    den: pd.DataFrame
    labels: pd.DataFrame
    scale: float
    count_is_den: bool


def _kept_rows(df: pd.DataFrame, doc_units: pd.DataFrame, *, drop_copies: bool, also=None) -> np.ndarray:
    """Positions of the rows a ratio measure reads: all, less the drop_copies rule's (and where `also`
    is False), so that its columns are taken as codes at these rows rather than copied whole."""
    keep = np.ones(len(df), bool) if also is None else np.asarray(also, bool).copy()
    if drop_copies:
        keep &= ~_copy_body_rows(df, doc_units)
    return np.flatnonzero(keep)


def _codes_at(series: pd.Series, rows: np.ndarray, name: str, allowed) -> np.ndarray:
    """`_codes` of the series at `rows` (positions), the error naming unknown values there."""
    codes = positions(list(allowed), series)[rows]
    if (codes < 0).any():
        return _codes(series.take(rows), name, allowed)  # raises, naming them
    return codes.astype(np.int64)


def _doc_codes(doc_ids: pd.Series, rows: np.ndarray) -> pd.Categorical:
    """The doc_ids at `rows` (positions) as a categorical: a ratio's row tables hold millions of rows
    of a few thousand documents, and `_clusters` looks each of them up once (`frames.positions`)."""
    codes, ids = pd.factorize(doc_ids)
    return pd.Categorical.from_codes(codes[rows], categories=ids, validate=False)


def _tiled(docs: pd.Categorical, times: int) -> pd.Categorical:
    """The categorical `times` over, end to end (a numerator's rows repeat its documents')."""
    return pd.Categorical.from_codes(np.tile(docs.codes, times), categories=docs.categories, validate=False)


def _rate_ratio(counts, word_totals, doc_units, *, drop_copies: bool, categories=None) -> _Ratio:
    """Rates per 1,000 words: numerator lexicon matches, denominator the words of the same voice
    and section. Each lexicon also gets category "all", its total."""
    _require(counts, "counts", ["doc_id", "sentence_id", "lexicon", "category", "voice", "section", "count"])
    _require(word_totals, "word_totals", ["doc_id", "sentence_id", "section", "voice", "n_words"])
    if (counts["category"] == ALL).any():
        raise ValueError(f'counts uses the reserved category name "{ALL}" (it labels a lexicon total)')
    rows = _kept_rows(counts, doc_units, drop_copies=drop_copies)
    # The (lexicon, category) pairs of the rows kept, as codes (the table's labels are few).
    lex, lexicons = pd.factorize(counts["lexicon"], use_na_sentinel=False)
    cat, cats = pd.factorize(counts["category"], use_na_sentinel=False)
    width = max(len(cats), 1)
    pair_codes, pair_at = np.unique(lex[rows].astype(np.int64) * width + cat[rows], return_inverse=True)
    pair_lex, pair_cat = np.divmod(pair_codes, width)  # each distinct pair's lexicon and category codes
    first = pair_at[np.sort(np.unique(pair_at, return_index=True)[1])]  # the pairs in order of first appearance
    pairs = pd.DataFrame({"lexicon": lexicons.take(pair_lex[first]), "category": cats.take(pair_cat[first])})
    if categories is not None:
        extra = pd.DataFrame(list(categories), columns=["lexicon", "category"])
        pairs = pd.concat([pairs, extra]).drop_duplicates()
    totals = pd.DataFrame({"lexicon": pd.unique(pairs["lexicon"]), "category": ALL})
    labels = pd.concat([totals, pairs], ignore_index=True)
    # Each lexicon's total first, then its categories.
    labels = labels.iloc[np.lexsort((labels["category"].astype(str), labels["category"] != ALL,
                                     labels["lexicon"].astype(str)))].reset_index(drop=True)
    labels.insert(0, "measure", "rate_per_1k")
    labels["low"], labels["high"] = 0.0, np.inf  # the values a rate can take
    q = pd.Series(np.arange(len(labels)), index=pd.MultiIndex.from_frame(labels[["lexicon", "category"]]))
    # Each distinct pair's q and each kept lexicon's total's q, then each row's by its codes.
    q_cat = q.reindex(pd.MultiIndex.from_arrays([lexicons.take(pair_lex), cats.take(pair_cat)])).to_numpy()[pair_at]
    kept_lex, lex_at = np.unique(lex[rows], return_inverse=True)
    q_all = q.reindex(pd.MultiIndex.from_arrays([lexicons.take(kept_lex),
                                                 np.full(len(kept_lex), ALL)])).to_numpy()[lex_at]
    v = _codes_at(counts["voice"], rows, "counts.voice", VOICES)
    s = _codes_at(counts["section"], rows, "counts.section", SECTIONS)
    value = counts["count"].to_numpy(float)[rows]
    sentence = counts["sentence_id"].to_numpy()[rows]
    # copy=False: the new arrays become the frame's columns as they are, not copied into one block a dtype
    num = pd.DataFrame({"doc_id": _tiled(_doc_codes(counts["doc_id"], rows), 2), "sentence_id": np.tile(sentence, 2),
                        "q": np.concatenate([q_cat, q_all]), "v": np.tile(v, 2), "s": np.tile(s, 2),
                        "value": np.tile(value, 2)}, copy=False)
    rows = _kept_rows(word_totals, doc_units, drop_copies=drop_copies)
    den = pd.DataFrame({"doc_id": _doc_codes(word_totals["doc_id"], rows),
                        "sentence_id": word_totals["sentence_id"].to_numpy()[rows],
                        "v": _codes_at(word_totals["voice"], rows, "word_totals.voice", VOICES),
                        "s": _codes_at(word_totals["section"], rows, "word_totals.section", SECTIONS),
                        "value": word_totals["n_words"].to_numpy(float)[rows]}, copy=False)
    return _Ratio(num, den, labels, 1000.0, count_is_den=False)


def _sentiment_ratio(sentence_scores, doc_units, *, drop_copies: bool, score_col: str) -> _Ratio:
    """Sentence sentiment as ratios over sentences: mean compound, share negative, share positive."""
    _require(sentence_scores, "sentence_scores", ["doc_id", "sentence_id", "section", "voice", score_col])
    rows = _kept_rows(sentence_scores, doc_units, drop_copies=drop_copies,
                      also=sentence_scores[score_col].notna().to_numpy())
    compound = sentence_scores[score_col].to_numpy(float)[rows]
    sentence = sentence_scores["sentence_id"].to_numpy()[rows]
    v = _codes_at(sentence_scores["voice"], rows, "sentence_scores.voice", VOICES)
    s = _codes_at(sentence_scores["section"], rows, "sentence_scores.section", SECTIONS)
    docs = _doc_codes(sentence_scores["doc_id"], rows)  # factorized once, for the numerator and denominator
    parts = [compound, (compound <= NEGATIVE_AT).astype(float), (compound >= POSITIVE_AT).astype(float)]
    num = pd.DataFrame({"doc_id": _tiled(docs, len(parts)),
                        "sentence_id": np.tile(sentence, len(parts)), "v": np.tile(v, len(parts)),
                        "s": np.tile(s, len(parts)), "q": np.repeat(np.arange(len(parts)), len(rows)),
                        "value": np.concatenate(parts)}, copy=False)  # as in `_rate_ratio`
    den = pd.DataFrame({"doc_id": docs, "sentence_id": sentence, "v": v,
                        "s": s, "value": 1.0}, copy=False)
    labels = pd.DataFrame({"measure": ["mean_compound", "share_negative", "share_positive"],
                           "lexicon": "vader", "category": ALL, "low": [-1.0, 0.0, 0.0], "high": 1.0})
    return _Ratio(num, den, labels, 1.0, count_is_den=True)


@dataclass(frozen=True)
class DocumentSums:
    """A ratio measure summed per document once (`document_sums`), for every outlet, group and
    contrast task to select its documents' rows from, instead of building and summing the row
    tables again. Rows of num and den are the documents of doc_ids (each of doc_units, with rows
    or without), columns as `_Clusters`' (num: q * 24 + cell, den: cell); each row is the sum
    `_clusters` makes of that document's rows, entry for entry, so the results are the same."""

    measure: str  # "rates", or the score column of a sentiment measure
    drop_copies: bool  # built with the drop_copies rule
    doc_ids: pd.Index
    num: sparse.csr_array
    den: sparse.csr_array
    labels: pd.DataFrame
    scale: float
    count_is_den: bool

    def arrays(self) -> list[np.ndarray]:
        """The arrays of num and den (data, indices, indptr of each), as `with_arrays` takes them."""
        return [self.num.data, self.num.indices, self.num.indptr, self.den.data, self.den.indices, self.den.indptr]

    def with_arrays(self, arrays: list[np.ndarray]) -> DocumentSums:
        """The same sums on other arrays of the same values (memory-mapped ones, say)."""
        num = sparse.csr_array(tuple(arrays[:3]), shape=self.num.shape, copy=False)
        den = sparse.csr_array(tuple(arrays[3:]), shape=self.den.shape, copy=False)
        return replace(self, num=num, den=den)


def _document_sums(ratio: _Ratio, doc_ids: pd.Index, *, measure: str, drop_copies: bool) -> DocumentSums:
    num = _cell_matrix(ratio.num, positions(doc_ids, ratio.num["doc_id"]), len(doc_ids), len(ratio.labels))
    den = _cell_matrix(ratio.den, positions(doc_ids, ratio.den["doc_id"]), len(doc_ids), 1)
    return DocumentSums(measure, drop_copies, doc_ids, num, den, ratio.labels, ratio.scale, ratio.count_is_den)


def document_sums(counts: pd.DataFrame, word_totals: pd.DataFrame, sentence_scores: pd.DataFrame,
                  doc_units: pd.DataFrame, *, dedup: str = "drop_copies",
                  score_cols=("compound",)) -> dict[str, DocumentSums]:
    """The rates ("rates") and the sentiment of each score column, summed per document under the
    dedup rule of outlet and group estimates and contrasts, for their `sums=` argument: each task
    then selects its documents' sums (a few numbers a document) rather than reading and summing the
    row tables (millions of rows) again. Built one measure at a time."""
    _check_choice(dedup, "dedup", DEDUP)
    _check_all_known(doc_units, counts=counts, word_totals=word_totals, sentence_scores=sentence_scores)
    drop = dedup == "drop_copies"
    doc_ids = pd.Index(_doc_table(doc_units)["doc_id"])
    sums = {"rates": _document_sums(_rate_ratio(counts, word_totals, doc_units, drop_copies=drop), doc_ids,
                                    measure="rates", drop_copies=drop)}
    for col in score_cols:
        sums[col] = _document_sums(_sentiment_ratio(sentence_scores, doc_units, drop_copies=drop, score_col=col),
                                   doc_ids, measure=col, drop_copies=drop)
    return sums


class _Summed:
    """A ratio measure as per-document sums, and the way to its row tables, built (once) only where
    a unit of one document resamples its sentences, which the sums do not hold."""

    def __init__(self, sums: DocumentSums, rows: Callable[[], _Ratio]):
        self.sums, self._rows, self._ratio = sums, rows, None
        self.labels, self.scale, self.count_is_den = sums.labels, sums.scale, sums.count_is_den

    def rows(self) -> _Ratio:
        if self._ratio is None:
            self._ratio = self._rows()
        return self._ratio


def _with_sums(sums: DocumentSums | None, measure: str, drop_copies: bool, rows: Callable[[], _Ratio]):
    """The ratio a task aggregates: from `sums` if given (checked to be this measure's, under this
    dedup rule), else its row tables."""
    if sums is None:
        return rows()
    if not isinstance(sums, DocumentSums) or sums.measure != measure or sums.drop_copies != drop_copies:
        found = (f"{sums.measure!r}, drop_copies={sums.drop_copies}" if isinstance(sums, DocumentSums)
                 else type(sums).__name__)
        raise ValueError(f"sums are {found}, not {measure!r} with drop_copies={drop_copies}; pass "
                         "document_sums(...) built with the same dedup rule, or leave sums out")
    return _Summed(sums, rows)


# ---------------------------------------------------------------------------------------------
# Clusters: the resampling units (documents, or sentences of a single-document unit)


@dataclass(frozen=True)
class _Clusters:
    """Sparse sums per cluster. Rows of num/den are clusters sorted by unit; columns of num are
    q * 24 + cell, columns of den are cells (cell = voice * 6 + section, margins included)."""

    units: list
    bounds: np.ndarray  # cluster rows of unit i: bounds[i]:bounds[i + 1]
    by_sentence: np.ndarray  # per unit: resampling sentences (one document) rather than documents
    docs_in_cell: np.ndarray  # units x cells: documents with words (sentences) in the cell
    num: sparse.csr_array
    den: sparse.csr_array
    n_q: int


def _unit_docs(doc_unit: pd.Series, order=None) -> tuple[list, pd.DataFrame, np.ndarray]:
    """The units (`order`, or sorted), their documents sorted by (unit, doc_id) with the unit's code
    u, and the number of documents of each unit."""
    docs = doc_unit.rename("unit").rename_axis("doc_id").reset_index()
    units = list(order) if order is not None else sorted(pd.unique(docs["unit"]).tolist(), key=str)
    docs["u"] = pd.Categorical(docs["unit"], categories=units).codes
    docs = docs.loc[docs["u"] >= 0].sort_values(["u", "doc_id"], ignore_index=True)
    return units, docs, np.bincount(docs["u"], minlength=len(units))


def _summed_clusters(sums: DocumentSums, doc_unit: pd.Series, *, order, sentences_when_single) -> _Clusters | None:
    """`_clusters` from per-document sums: each unit's documents' rows, in the order `_clusters` has
    them; None where a unit of one document would resample its sentences."""
    units, docs, n_docs = _unit_docs(doc_unit, order)
    if sentences_when_single and (n_docs == 1).any():
        return None
    at = positions(sums.doc_ids, docs["doc_id"])
    if (at < 0).any():
        raise ValueError(f"sums have no row for doc_id(s) {docs['doc_id'][at < 0].head(5).tolist()}; build "
                         "them (document_sums) from the same doc_units")
    doc_u = docs["u"].to_numpy(np.int64)
    num, den = sums.num[at], sums.den[at]
    bounds = np.searchsorted(doc_u, np.arange(len(units) + 1))
    return _Clusters(units, bounds, np.zeros(len(units), bool), _docs_in_cell(den, doc_u, len(units)), num, den,
                     len(sums.labels))


def _clusters(ratio: _Ratio | _Summed, doc_unit: pd.Series, *, order=None, sentences_when_single=True) -> _Clusters:
    if isinstance(ratio, _Summed):
        summed = _summed_clusters(ratio.sums, doc_unit, order=order, sentences_when_single=sentences_when_single)
        if summed is not None:
            return summed
        ratio = ratio.rows()
    units, docs, n_docs = _unit_docs(doc_unit, order)
    single = n_docs[docs["u"]] == 1 if sentences_when_single else np.zeros(len(docs), bool)
    docs["single"] = single

    # Documents by position d in `docs` (sorted by unit, then doc_id): a cluster is (d, key), key the
    # sentence of a single-document unit or -1, so clusters sorted by (d, key) are in unit order.
    doc_index = pd.Index(docs["doc_id"])
    doc_u, doc_single = docs["u"].to_numpy(np.int64), docs["single"].to_numpy(bool)

    def keyed(df: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        d = positions(doc_index, df["doc_id"])
        if (d < 0).any():
            df, d = df.loc[d >= 0], d[d >= 0]
        key = np.where(doc_single[d], df["sentence_id"].to_numpy(np.int64), -1)
        return df, d * width + key + 1

    width = int(max(ratio.num["sentence_id"].to_numpy().max(initial=0),
                    ratio.den["sentence_id"].to_numpy().max(initial=0))) + 2
    (num, num_key), (den, den_key) = keyed(ratio.num), keyed(ratio.den)
    multi = np.flatnonzero(~doc_single) * width
    clusters = np.unique(np.concatenate([multi, num_key[doc_single[num_key // width]],
                                         den_key[doc_single[den_key // width]]]))
    bounds = np.searchsorted(doc_u[clusters // width], np.arange(len(units) + 1))
    n_rows, n_q = len(clusters), len(ratio.labels)
    num_mat = _cell_matrix(num, np.searchsorted(clusters, num_key), n_rows, n_q)
    den_mat = _cell_matrix(den, np.searchsorted(clusters, den_key), n_rows, 1)
    docs_in_cell = _docs_in_cell(_cell_matrix(den, den_key // width, len(docs), 1), doc_u, len(units))
    by_sentence = (n_docs == 1) & sentences_when_single
    return _Clusters(units, bounds, by_sentence, docs_in_cell, num_mat, den_mat, n_q)


def _docs_in_cell(doc_den: sparse.csr_array, doc_u: np.ndarray, n_units: int) -> np.ndarray:
    """Documents with words (sentences) in each cell, per unit: from each document's denominators
    (a row a document, a column a cell) and its unit's code."""
    has = (doc_den > 0).tocoo()
    docs_in_cell = np.zeros((n_units, _N_CELLS), np.int64)
    np.add.at(docs_in_cell, (doc_u[has.row], has.col), 1)
    return docs_in_cell


def _cell_matrix(rows: pd.DataFrame, row: np.ndarray, n_rows: int, n_q: int) -> sparse.csr_array:
    """Sum the values of `rows` into row `row` (one per input row) and columns q * 24 + cell for the
    cell and its voice, section and joint margins. The values are summed per (row, q, cell) first and
    the margins from those sums, so the four copies are of the summed entries, not of every input row
    (a quarter of the memory or less)."""
    q = rows["q"].to_numpy() if "q" in rows else np.zeros(len(rows), np.int64)
    v, s = rows["v"].to_numpy(), rows["s"].to_numpy()
    shape = (n_rows, n_q * _N_CELLS)
    cells = sparse.coo_array((rows["value"].to_numpy(float), (row, q * _N_CELLS + v * _N_SECTIONS + s)),
                             shape=shape).tocsr()
    cells.sum_duplicates()  # explicit zeros stay: an entry marks a value present
    cells = cells.tocoo()
    q, cell = np.divmod(cells.col, _N_CELLS)
    v, s = np.divmod(cell, _N_SECTIONS)
    all_v, all_s = len(VOICES), len(SECTIONS)
    cols = np.concatenate([q * _N_CELLS + vv * _N_SECTIONS + ss
                           for vv, ss in ((v, s), (all_v, s), (v, all_s), (all_v, all_s))])
    mat = sparse.coo_array((np.tile(cells.data, 4), (np.tile(cells.row, 4), cols)), shape=shape).tocsr()
    mat.sum_duplicates()
    return mat


def _resample_weights(rng: np.random.Generator, m: int, b: int) -> np.ndarray:
    """Bootstrap weights of m clusters in b draws, as an m x b matrix (each column sums to m): how
    often each cluster is drawn. Draw k takes rng.integers(0, m, size=(b, m))[k]; the counts are
    laid out cluster by cluster, the order the matrix product reads them in. Counted draw by draw
    (each draw's m counts side by side, where its writes stay close), then turned once."""
    idx = rng.integers(0, m, size=(b, m))
    idx += (np.arange(b) * m)[:, None]
    counts = np.bincount(idx.ravel(), minlength=m * b).reshape(b, m)
    weights = np.empty((m, b))
    weights[...] = counts.T
    return weights


def _ratio_draws(num_u, den_u, cols: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap ratios sum(w * num) / sum(w * den) for the columns cols (len(cols) x n_boot). One
    weight matrix per unit, applied to every column by a matrix product."""
    m = num_u.shape[0]
    out = np.full((len(cols), n_boot), np.nan)
    if m == 0 or n_boot == 0 or len(cols) == 0:
        return out
    sub_t = num_u[:, cols].T.tocsr()
    # Only the denominators of the cells these columns are in (often 2 to 4 of the 24): each draw's
    # denominator row is the same product, and the weights are the same draws, so nothing changes.
    cells, den_row = np.unique(cols % _N_CELLS, return_inverse=True)  # den_row: each column's row of den_t
    den_t = den_u[:, cells].T.tocsr()
    # The block size depends on m only, so a unit's draws never depend on anything else.
    block = max(1, min(n_boot, _BLOCK_ENTRIES // m))
    with np.errstate(divide="ignore", invalid="ignore"):
        for start in range(0, n_boot, block):
            w_t = _resample_weights(rng, m, min(block, n_boot - start))
            out[:, start:start + w_t.shape[1]] = (sub_t @ w_t) / (den_t @ w_t)[den_row]
    return out


def _rows(matrix: sparse.csr_array, lo: int, hi: int) -> sparse.csr_array:
    """Rows lo:hi of a CSR matrix on views of its arrays: the same matrix as `matrix[lo:hi]`, which
    copies them (half the documents' sums for each side of a contrast: 90 MB at 100,000 articles)."""
    start, end = matrix.indptr[lo], matrix.indptr[hi]
    # Given to an empty matrix of the shape: scipy's constructor copies a view of a much larger array.
    rows = sparse.csr_array((hi - lo, matrix.shape[1]), dtype=matrix.dtype)
    rows.indptr = matrix.indptr[lo:hi + 1] - start
    rows.indices, rows.data = matrix.indices[start:end], matrix.data[start:end]
    return rows


def _unit_sums(cl: _Clusters, i: int):
    lo, hi = int(cl.bounds[i]), int(cl.bounds[i + 1])
    num_u, den_u = _rows(cl.num, lo, hi), _rows(cl.den, lo, hi)
    num_sum = np.asarray(num_u.sum(axis=0)).ravel()
    den_sum = np.asarray(den_u.sum(axis=0)).ravel()
    present = np.zeros(num_u.shape[1], bool)
    present[num_u.indices] = True
    return num_u, den_u, num_sum, den_sum, present


def _linearized(num_u, den_u, cols: np.ndarray, num_sum, den_sum) -> tuple[np.ndarray, np.ndarray]:
    """Per column of cols: the linearized (Taylor) standard error of the ratio sum(num) / sum(den)
    over the unit's clusters, sqrt(m / (m - 1) * sum_i (num_i - R den_i)^2) / sum(den), and
    whether it may stand in for the bootstrap (LINEAR_MIN_CLUSTERS clusters, LINEAR_MIN_NONZERO of
    them with a non-zero numerator)."""
    m = num_u.shape[0]
    cell = cols % _N_CELLS
    den_dense = den_u.toarray()
    sub = num_u[:, cols].tocoo()
    s_nn = np.bincount(sub.col, weights=sub.data ** 2, minlength=len(cols))
    s_nd = np.bincount(sub.col, weights=sub.data * den_dense[sub.row, cell[sub.col]], minlength=len(cols))
    s_dd = (den_dense ** 2).sum(axis=0)[cell]
    nonzero = np.bincount(sub.col, weights=sub.data != 0, minlength=len(cols))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num_sum[cols] / den_sum[cell]
        squares = np.maximum(s_nn - 2 * ratio * s_nd + ratio ** 2 * s_dd, 0.0)
        se = np.sqrt(m / max(m - 1, 1) * squares) / den_sum[cell]
    return se, (m >= LINEAR_MIN_CLUSTERS) & (nonzero >= LINEAR_MIN_NONZERO)


def _interval(num_u, den_u, cols, present, den_sum, n_boot, rng, confidence, *, num_sum, ranges):
    """Percentile interval per column, or the normal one from the linearized standard error where
    `_linearized` allows it and it stays within the values the measure can take (ranges: low and
    high per column); returns (low, high, linearized). Columns without any numerator entry are
    exactly 0 in every draw with words, so they skip the matrix product."""
    lo = np.where(den_sum[cols % _N_CELLS] > 0, 0.0, np.nan)
    hi = lo.copy()
    linear = np.zeros(len(cols), bool)
    if n_boot == 0:
        return np.full(len(cols), np.nan), np.full(len(cols), np.nan), linear
    boot = present[cols] & (den_sum[cols % _N_CELLS] > 0)
    if boot.any():
        se, applies = _linearized(num_u, den_u, cols[boot], num_sum, den_sum)
        value = num_sum[cols[boot]] / den_sum[cols[boot] % _N_CELLS]
        z = ndtri(_percentiles(confidence)[1])
        low, high = value - z * se, value + z * se
        applies &= (low >= ranges[0][boot]) & (high <= ranges[1][boot])
        linear[np.flatnonzero(boot)[applies]] = True
        lo[linear], hi[linear] = low[applies], high[applies]
        boot[linear] = False
    lo[boot], hi[boot] = _nanquantiles(_ratio_draws(num_u, den_u, cols[boot], n_boot, rng), confidence)
    return lo, hi, linear


def _ci_method(n_boot: int) -> str:
    return f"percentile bootstrap, {n_boot} draws" if n_boot else "none"


LINEAR_METHOD = "normal, linearized standard error"


def _label_cells(out: pd.DataFrame, labels: pd.DataFrame, cols: np.ndarray) -> pd.DataFrame:
    q, cell = cols // _N_CELLS, cols % _N_CELLS
    for name in ("measure", "lexicon", "category"):
        out[name] = labels_at(labels[name], q)
    out["voice"] = labels_at(_CELL_VOICES, cell // _N_SECTIONS)
    out["section"] = labels_at(_CELL_SECTIONS, cell % _N_SECTIONS)
    return out


def _warnings(n_words: np.ndarray, n_docs: np.ndarray, by_sentence: np.ndarray, what: str, *, interval: bool):
    """The estimates' warning column: empty, or why the value or its interval needs care
    (by_sentence: the interval resamples the sentences of one document). Without an interval
    (n_boot=0, as for documents by default) only an undefined value is warned about."""
    texts, codes = [""], np.zeros(len(n_words), np.int64)
    few = np.flatnonzero(n_docs < 5) if interval else np.zeros(0, np.int64)
    if len(few):
        keys, inverse = np.unique(np.asarray(n_docs[few], np.int64) * 2 + by_sentence[few], return_inverse=True)
        texts += [
            "fewer than 5 documents (1): the interval resamples the sentences of one article, so it shows "
            "within-article variation only" if key % 2 else
            f"fewer than 5 documents ({key // 2}): the interval resamples so few articles that it shows little of "
            "the variation between articles" for key in keys.tolist()]
        codes[few] = 1 + inverse.ravel()
    codes[np.asarray(n_words) <= 0] = len(texts)
    return labels_at(texts + [f"no {what} in this voice and section: value undefined"], codes)


def _point_estimates(cl: _Clusters, ratio: _Ratio) -> pd.DataFrame:
    """`_estimates`' rows without intervals, for every unit at once: unit sums by one sparse product
    (rows summed in the same order as a unit's own sum, so the values are the same to the bit)."""
    n_units, n_rows = len(cl.units), cl.num.shape[0]
    unit_of_row = np.repeat(np.arange(n_units), np.diff(cl.bounds))
    members = sparse.csr_array((np.ones(n_rows), (unit_of_row, np.arange(n_rows))), shape=(n_units, n_rows))
    num_sum = (members @ cl.num).toarray()
    den_sum = (members @ cl.den).toarray()
    structure = sparse.csr_array((np.ones(cl.num.nnz), cl.num.indices, cl.num.indptr), shape=cl.num.shape)
    present = (members @ structure).toarray() > 0
    observed = (den_sum > 0) | present.reshape(n_units, cl.n_q, _N_CELLS).any(axis=1)
    # (unit, q, cell) in C order: each unit's rows, measures in order, cells ascending, as in the loop.
    unit, q, cell = np.nonzero(np.broadcast_to(observed[:, None, :], (n_units, cl.n_q, _N_CELLS)))
    cols = q * _N_CELLS + cell
    den = den_sum[unit, cell]
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(den > 0, num_sum[unit, cols] / den, np.nan)
    return pd.DataFrame({
        "unit": unit, "col": cols, "value": value * ratio.scale, "ci_low": np.nan, "ci_high": np.nan,
        "count": den if ratio.count_is_den else num_sum[unit, cols], "n_words": den,
        "n_docs": cl.docs_in_cell[unit, cell],
        "ci_unit": labels_at(CI_UNITS, cl.by_sentence[unit]),
    })


def _estimates(ratio: _Ratio, doc_unit: pd.Series, *, unit_type, n_boot, seed, confidence) -> pd.DataFrame:
    cl = _clusters(ratio, doc_unit)
    parts = [_point_estimates(cl, ratio)] if n_boot == 0 and len(cl.units) else []
    for i, unit in enumerate(cl.units if n_boot else []):
        num_u, den_u, num_sum, den_sum, present = _unit_sums(cl, i)
        observed = (den_sum > 0) | present.reshape(cl.n_q, _N_CELLS).any(axis=0)
        cells = np.flatnonzero(observed)
        cols = (np.arange(cl.n_q)[:, None] * _N_CELLS + cells[None, :]).ravel()
        den = den_sum[cols % _N_CELLS]
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(den > 0, num_sum[cols] / den, np.nan)
        ranges = (ratio.labels["low"].to_numpy()[cols // _N_CELLS], ratio.labels["high"].to_numpy()[cols // _N_CELLS])
        lo, hi, linear = _interval(num_u, den_u, cols, present, den_sum, n_boot, keyed_rng(seed, "bootstrap", unit),
                                   confidence, num_sum=num_sum, ranges=ranges)
        parts.append(pd.DataFrame({
            "unit": np.full(len(cols), i), "col": cols, "value": value * ratio.scale, "_linear": linear,
            "ci_low": lo * ratio.scale, "ci_high": hi * ratio.scale,
            "count": den if ratio.count_is_den else num_sum[cols], "n_words": den,
            "n_docs": cl.docs_in_cell[i, cols % _N_CELLS],
            "ci_unit": CI_UNITS[int(cl.by_sentence[i])],
        }))
    if not parts:
        return pd.DataFrame(columns=ESTIMATE_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    out = _label_cells(out, ratio.labels, out["col"].to_numpy())
    out["unit"] = labels_at(cl.units, out["unit"].to_numpy())
    out["unit_type"] = unit_type
    out["ci_method"] = (labels_at([_ci_method(n_boot), LINEAR_METHOD], out["_linear"].to_numpy())
                        if "_linear" in out else _ci_method(n_boot))
    what = "sentences" if ratio.count_is_den else "words"
    out["warning"] = _warnings(out["n_words"].to_numpy(), out["n_docs"].to_numpy(),
                               (out["ci_unit"] == "sentence").to_numpy(), what, interval=n_boot > 0)
    if ratio.count_is_den:
        out["n_words"] = np.nan
    out["count"] = out["count"].round().astype(np.int64)
    return out[ESTIMATE_COLUMNS]


def _unit_map_for(doc_units, *, unit_type, unit_col, dedup) -> tuple[pd.Series, bool]:
    _check_choice(unit_type, "unit_type", UNIT_TYPES)
    _check_choice(dedup, "dedup", DEDUP)
    if unit_type == "document" and unit_col != "doc_id":
        raise ValueError(f"unit_type='document' needs unit_col='doc_id', not {unit_col!r}")
    _doc_table(doc_units)
    doc_unit = (doc_units.set_index("doc_id", drop=False)["doc_id"] if unit_col == "doc_id"
                else _doc_unit_map(doc_units, unit_col))
    # Document-level estimates describe the document as published, copy or not.
    return doc_unit, dedup == "drop_copies" and unit_type != "document"


def estimate_rates(counts: pd.DataFrame, word_totals: pd.DataFrame, doc_units: pd.DataFrame, *, unit_type: str,
                   unit_col: str, n_boot: int = 2000, seed: int = 0, confidence: float = 0.95,
                   dedup: str = "drop_copies", categories=None, sums: DocumentSums | None = None) -> pd.DataFrame:
    """Loaded-term rates per 1,000 words with cluster-bootstrap intervals, as `estimates` rows.

    rate = 1000 * sum(count) / sum(n_words) over the unit's documents, for each lexicon x category
    (plus category "all", the lexicon total) x voice (and "all") x section (and "all"); the words
    are those of the same unit, voice and section. The interval resamples whole documents when the
    unit has two or more (ratio estimator on each resample), the sentences of its one document
    otherwise; draws are keyed by (seed, unit). Rows: every (voice, section) cell in which the
    unit has words or matches. `categories`: extra (lexicon, category) pairs to report even where
    nothing matched. `sums`: `document_sums(...)["rates"]` of these tables, which the estimates
    then read instead of the row tables (the same rows; not with `categories`).
    """
    _check_params(n_boot, seed, confidence)
    doc_unit, drop = _unit_map_for(doc_units, unit_type=unit_type, unit_col=unit_col, dedup=dedup)
    if sums is not None and categories is not None:
        raise ValueError("categories cannot be added to sums (document_sums); pass one or the other")

    def rows() -> _Ratio:
        _check_all_known(doc_units, counts=counts, word_totals=word_totals)
        return _rate_ratio(counts, word_totals, doc_units, drop_copies=drop, categories=categories)

    ratio = _with_sums(sums, "rates", drop, rows)
    return _estimates(ratio, doc_unit, unit_type=unit_type, n_boot=n_boot, seed=seed, confidence=confidence)


def estimate_sentiment(sentence_scores: pd.DataFrame, doc_units: pd.DataFrame, *, unit_type: str, unit_col: str,
                       n_boot: int = 2000, seed: int = 0, confidence: float = 0.95, dedup: str = "drop_copies",
                       score_col: str = "compound", sums: DocumentSums | None = None) -> pd.DataFrame:
    """Sentence sentiment per unit as `estimates` rows: mean_compound (mean over sentences),
    share_negative (compound <= -0.05) and share_positive (compound >= 0.05), by voice and section
    (each and "all"). Same bootstrap as `estimate_rates`; count = sentences, n_words is NaN.
    `score_col="compound_masked"` scores the text with topic words neutralised. `sums`:
    `document_sums(...)[score_col]` of these tables, read instead of the row tables (the same rows).
    """
    _check_params(n_boot, seed, confidence)
    doc_unit, drop = _unit_map_for(doc_units, unit_type=unit_type, unit_col=unit_col, dedup=dedup)

    def rows() -> _Ratio:
        _check_known_docs(sentence_scores, "sentence_scores", doc_units)
        return _sentiment_ratio(sentence_scores, doc_units, drop_copies=drop, score_col=score_col)

    ratio = _with_sums(sums, score_col, drop, rows)
    return _estimates(ratio, doc_unit, unit_type=unit_type, n_boot=n_boot, seed=seed, confidence=confidence)


# ---------------------------------------------------------------------------------------------
# Permutation tests


# Large groups: the normal approximation to the permutation distribution (its exact mean 0 and
# variance under relabeling; Hajek's combinatorial central limit theorem). It applies to a column when
# both groups have NORMAL_MIN_DOCS documents in the cell, at least NORMAL_MIN_VARYING documents differ
# from the column's most common value (mostly-zero rates are lattices the curve misstates), and no
# document pulls a group's sum by more than NORMAL_MAX_PULL of its standard deviation (an outlier
# makes the distribution bimodal). Calibrated against 20,000 relabelings: docs/statistics.md.
NORMAL_MIN_DOCS = 100
NORMAL_MIN_VARYING = 100
NORMAL_MAX_PULL = 1.5


def _exact_extremes(x, n_small: int, total, d_obs, tol, n_a: int, n_b: int, small_is_a: bool) -> np.ndarray:
    """How many of all C(n, n_small) labelings are at least as extreme as the observed one, per column."""
    n = x.shape[0]
    n_labelings = math.comb(n, n_small)
    combos = itertools.combinations(range(n), n_small)
    subsets = np.fromiter(itertools.chain.from_iterable(combos), np.int64, n_labelings * n_small)
    subsets = subsets.reshape(n_labelings, n_small)
    extreme = np.zeros(x.shape[1], np.int64)
    block = max(1, min(n_labelings, _BLOCK_ENTRIES // max(n_small, n)))
    for start in range(0, n_labelings, block):
        chosen = subsets[start:start + block]
        extreme += _count_extreme(x, chosen.ravel(), np.arange(0, chosen.size + 1, n_small), total, d_obs, tol,
                                  n_a, n_b, small_is_a)
    return extreme


def _count_extreme(x, indices, indptr, total, d_obs, tol, n_a, n_b, small_is_a) -> np.ndarray:
    """Per column, how many relabelings (rows of the 0/1 matrix given by indices, indptr: the
    smaller group's documents) give |mean_a - mean_b| >= the observed."""
    labels = sparse.csr_array((np.ones(len(indices)), indices, indptr), shape=(len(indptr) - 1, x.shape[0]))
    s = labels @ x
    s = s.toarray() if sparse.issparse(s) else np.asarray(s)
    s_a = s if small_is_a else total - s
    d = np.abs(s_a / n_a - (total - s_a) / n_b)
    return (d >= d_obs - tol).sum(axis=0)


def _monte_carlo_extremes(x, n_small: int, total, d_obs, tol, n_a, n_b, small_is_a, n_perm, rng) -> np.ndarray:
    """As `_exact_extremes` over n_perm random labelings, drawn on the documents with a non-zero value
    in some column of x only (zeros add nothing to a group's sum): per labeling, the number of the
    smaller group's documents among those m is hypergeometric, and which of the m they are a uniform
    subset of that size. The same distribution as relabeling all n documents, at a cost in m."""
    n = x.shape[0]
    nonzero = np.flatnonzero(np.asarray((x != 0).sum(axis=1)).ravel() > 0)
    m = len(nonzero)
    extreme = np.zeros(x.shape[1], np.int64)
    if m == 0:  # every labeling gives a difference of 0
        return extreme + n_perm
    xm = x[nonzero]
    block = max(1, min(n_perm, _BLOCK_ENTRIES // m))
    for start in range(0, n_perm, block):
        size = min(block, n_perm - start)
        k = rng.hypergeometric(n_small, n - n_small, m, size=size) if m < n else np.full(size, n_small)
        order = np.argsort(rng.random((size, m)), axis=1)
        chosen = order[np.arange(m)[None, :] < k[:, None]]
        extreme += _count_extreme(xm, chosen, np.concatenate([[0], np.cumsum(k)]), total, d_obs, tol, n_a, n_b,
                                  small_is_a)
    return extreme


def _varying(dense: np.ndarray, *, in_place: bool = False) -> np.ndarray:
    """Per column, how many values differ from the column's most common value (`in_place`: sorting
    `dense` itself rather than a copy)."""
    if dense.shape[0] == 0:
        return np.zeros(dense.shape[1], np.int64)
    if in_place:
        dense.sort(axis=0)
    ordered = dense if in_place else np.sort(dense, axis=0)
    starts = np.vstack([np.ones((1, dense.shape[1]), bool), ordered[1:] != ordered[:-1]])
    longest = np.zeros(dense.shape[1], np.int64)
    for j in range(dense.shape[1]):
        runs = np.diff(np.append(np.flatnonzero(starts[:, j]), dense.shape[0]))
        longest[j] = runs.max()
    return dense.shape[0] - longest


def _normal_pvalues(x, n_a: int, d_obs) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p from the normal approximation to the permutation distribution of mean_a - mean_b,
    and whether it applies to each column (see NORMAL_MIN_DOCS, NORMAL_MAX_PULL)."""
    n = x.shape[0]
    n_b = n - n_a
    own = sparse.issparse(x)  # a dense copy made here, which may be sorted in place
    dense = x.toarray() if own else np.asarray(x, float)
    dev = dense - dense.mean(axis=0)
    # Documents x columns (100,000 x 88 at 100,000 articles: 70 MB an array): the largest deviation
    # as max(max, -min) and the squares in place, the same numbers as abs(dev).max() and dev ** 2
    # without an array more for each.
    largest = np.maximum(dev.max(axis=0), -dev.min(axis=0)) if n else np.zeros(dense.shape[1])
    ss = np.square(dev, out=dev).sum(axis=0)
    del dev
    # Under relabeling: var(sum of a) = n_a n_b / (n (n - 1)) * ss; mean_a - mean_b = sum_a n / (n_a n_b) - const.
    var_sum = n_a * n_b / (n * (n - 1)) * ss
    sd_diff = np.sqrt(var_sum) * n / (n_a * n_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd_diff > 0, d_obs / sd_diff, 0.0)
        pull = np.where(var_sum > 0, largest / np.sqrt(var_sum), np.inf)
    applies = ((min(n_a, n_b) >= NORMAL_MIN_DOCS) & (pull <= NORMAL_MAX_PULL)
               & (_varying(dense, in_place=own) >= NORMAL_MIN_VARYING))
    return 2 * ndtr(-z), applies


def _permutation_core(x, n_a: int, n_perm: int, rng: np.random.Generator):
    """Two-sided permutation test of mean(a) - mean(b) for every column of x (the first n_a rows
    are group a): returns (p, min_p, method), one per column. Exact when C(n, n_a) <= n_perm; else
    the normal approximation where it applies, and n_perm random relabelings for the other columns."""
    n, k = x.shape
    n_b = n - n_a
    if n_a == 0 or n_b == 0:
        return np.full(k, np.nan), np.full(k, np.nan), np.full(k, "none: a group has no documents", object)
    total = np.asarray(x.sum(axis=0)).ravel()
    s_obs = np.asarray(x[:n_a].sum(axis=0)).ravel()
    d_obs = np.abs(s_obs / n_a - (total - s_obs) / n_b)
    scale = np.asarray(abs(x).max(axis=0).toarray() if sparse.issparse(x) else np.abs(x).max(axis=0)).ravel()
    # Ties in exact arithmetic can differ in the last bits after summing in another order.
    tol = 1e-9 * np.maximum(scale, np.finfo(float).tiny)
    small_is_a = n_a <= n_b
    n_small = min(n_a, n_b)
    n_labelings = math.comb(n, n_a)
    if n_labelings <= n_perm:
        extreme = _exact_extremes(x, n_small, total, d_obs, tol, n_a, n_b, small_is_a)
        # The observed labeling is one of those counted. At best it alone is most extreme, or with
        # equal group sizes it and its mirror image (groups swapped, same |difference|).
        min_p = (2 if n_a == n_b else 1) / n_labelings
        return (extreme / n_labelings, np.full(k, min_p),
                np.full(k, f"exact permutation, {n_labelings} labelings", object))
    p, applies = _normal_pvalues(x, n_a, d_obs)
    min_p = np.where(applies, 0.0, 1 / (1 + n_perm))
    method = np.where(applies, "normal approximation to the permutation distribution",
                      f"Monte Carlo permutation, {n_perm} draws").astype(object)
    rest = np.flatnonzero(~applies)
    if len(rest):
        cols = x[:, rest] if not sparse.issparse(x) else x.tocsc()[:, rest].tocsr()
        extreme = _monte_carlo_extremes(cols, n_small, total[rest], d_obs[rest], tol[rest], n_a, n_b, small_is_a,
                                        n_perm, rng)
        p[rest] = (1 + extreme) / (1 + n_perm)
    return p, min_p, method


def permutation_test(values_a, values_b, *, n_perm: int = 10000, seed: int = 0) -> tuple[float, float, str]:
    """Two-sided permutation test of the difference in means of per-document values.

    Exact when all C(n_a + n_b, n_a) relabelings number at most n_perm: p is the share of them
    (the observed one included) whose |mean_a - mean_b| is at least the observed one; min_p is
    1 / C, or 2 / C when n_a == n_b (a labeling and its mirror give the same |difference|).
    Otherwise, with at least NORMAL_MIN_DOCS documents a side and no document pulling the sum by
    more than NORMAL_MAX_PULL of its standard deviation, the normal approximation to the
    permutation distribution (min_p = 0); else n_perm random relabelings: p = (1 + #as extreme) /
    (1 + n_perm), min_p = 1 / (1 + n_perm) (Phipson & Smyth 2010). NaN values are dropped.
    Returns (p, min_p, method).
    """
    a = np.asarray(values_a, float)
    b = np.asarray(values_b, float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) == 0 or len(b) == 0:
        raise ValueError(f"permutation_test needs values in both groups; got {len(a)} and {len(b)}")
    if int(n_perm) != n_perm or n_perm < 1:
        raise ValueError(f"n_perm={n_perm!r} must be a positive integer")
    p, min_p, method = _permutation_core(np.concatenate([a, b])[:, None], len(a), n_perm, keyed_rng(seed, "permutation"))
    return float(p[0]), float(min_p[0]), str(method[0])


# ---------------------------------------------------------------------------------------------
# Group differences


def _groups(doc_units: pd.DataFrame, group_col: str, group_a, group_b) -> pd.Series:
    """doc_id -> "a" / "b" for the two sides of a contrast; group_b "rest" = every other document
    with a group."""
    groups = _doc_unit_map(_doc_table(doc_units), group_col)
    missing = doc_units.loc[doc_units[group_col].isna(), "doc_id"]
    if len(missing):
        warnings.warn(f"{len(missing)} document(s) have no {group_col} and are left out of its contrasts, e.g. "
                      f"{missing.head(10).tolist()}", stacklevel=3)
    known = sorted(pd.unique(groups).tolist(), key=str)
    for name, value in (("group_a", group_a), ("group_b", group_b)):
        if value not in known and not (name == "group_b" and value == REST):
            raise ValueError(f"{name}={value!r} is not a value of {group_col}; known: {known}")
    if group_a == group_b:
        raise ValueError(f"group_a and group_b are both {group_a!r}")
    side = pd.Series(np.where(groups == group_a, "a", np.where(groups == group_b, "b", "")), index=groups.index)
    if group_b == REST:
        side[side == ""] = "b"
    return side[side != ""]


def _difference_rows(ratio: _Ratio, side: pd.Series, *, keys, n_boot, seed, confidence):
    """Differences a - b with their bootstrap intervals, and the per-document values each cell's
    permutation test needs: (rows, [(cell, doc rows, values, row positions)], documents in a)."""
    group_a, group_b = keys
    boot = _clusters(ratio, side, order=["a", "b"])
    docs = boot if not boot.by_sentence.any() else _clusters(ratio, side, order=["a", "b"], sentences_when_single=False)
    sums = [_unit_sums(boot, i) for i in range(2)]
    cells = np.flatnonzero((sums[0][3] > 0) & (sums[1][3] > 0))
    cols = (np.arange(boot.n_q)[:, None] * _N_CELLS + cells[None, :]).ravel()
    est, draws, variance = [], [], np.zeros(len(cols))
    linear = np.full(len(cols), n_boot > 0)  # both groups large enough for the linearized interval
    for num_u, den_u, num_sum, den_sum, _ in sums:
        est.append(num_sum[cols] / den_sum[cols % _N_CELLS])
        se, applies = _linearized(num_u, den_u, cols, num_sum, den_sum)
        variance += se ** 2
        linear &= applies
    rng_keys = [("bootstrap", group_a), ("bootstrap", group_b) if group_b != REST else ("bootstrap", REST, group_a)]
    for (num_u, den_u, *_), key in zip(sums, rng_keys):
        draws.append(_ratio_draws(num_u, den_u, cols[~linear], n_boot, keyed_rng(seed, *key)))
    lo, hi = np.full(len(cols), np.nan), np.full(len(cols), np.nan)
    if n_boot:
        lo[~linear], hi[~linear] = _nanquantiles(draws[0] - draws[1], confidence)
        half = ndtri(_percentiles(confidence)[1]) * np.sqrt(variance[linear])
        lo[linear], hi[linear] = (est[0] - est[1])[linear] - half, (est[0] - est[1])[linear] + half
    out = pd.DataFrame({"group_a": group_a, "group_b": group_b, "difference": (est[0] - est[1]) * ratio.scale,
                        "ci_low": lo * ratio.scale, "ci_high": hi * ratio.scale, "p_value": np.nan,
                        "min_p": np.nan})
    out = _label_cells(out, ratio.labels, cols)
    out["_q"] = cols // _N_CELLS
    ci_units = ["sentence" if boot.by_sentence[i] else "document" for i in range(2)]
    out["ci_unit"] = ci_units[0] if ci_units[0] == ci_units[1] else f"{ci_units[0]} (a), {ci_units[1]} (b)"
    out["ci_method"] = (np.where(linear, f"{LINEAR_METHOD} per group", f"percentile bootstrap, {n_boot} draws per group")
                        .astype(object) if n_boot else "none")
    out["n_docs_a"] = docs.docs_in_cell[0, cols % _N_CELLS]
    out["n_docs_b"] = docs.docs_in_cell[1, cols % _N_CELLS]
    tests = []
    for cell in cells:
        words = docs.den[:, [cell]].toarray().ravel()
        rows = np.flatnonzero(words > 0)
        # Per-document values (rate, mean, share) of the documents with words (sentences) in the cell;
        # the cell's columns taken before the rows, so that no copy of every column is made per cell.
        cell_num = docs.num[:, np.arange(docs.n_q) * _N_CELLS + cell][rows]
        values = sparse.diags_array(ratio.scale / words[rows]) @ cell_num
        tests.append((rows, values.tocsr(), np.flatnonzero(cols % _N_CELLS == cell)))
    return out, tests, int(docs.bounds[1])


def _permutation_pvalues(parts, *, keys, n_perm, seed) -> None:
    """Fill p_value and min_p of each part's rows. Cells (of any measure) whose tests involve the
    same documents share one set of relabelings, drawn from a generator keyed by those documents."""
    shared: dict[bytes, list] = {}
    for i, (_, tests, _) in enumerate(parts):
        for rows, values, at in tests:
            shared.setdefault(rows.tobytes(), []).append((i, rows, values, at))
    # Each part's three columns are filled by position here and written to it once at the end.
    filled = [(np.full(len(out), np.nan), np.full(len(out), np.nan), np.full(len(out), "", dtype=object))
              for out, _, _ in parts]
    for members in shared.values():
        rows, n_a_docs = members[0][1], parts[members[0][0]][2]
        values = sparse.hstack([m[2] for m in members], format="csr")
        doc_key = hashlib.sha256(rows.tobytes()).hexdigest()
        p, min_p, method = _permutation_core(values, int((rows < n_a_docs).sum()), n_perm,
                                             keyed_rng(seed, "permutation", *keys, doc_key))
        offset = 0
        for i, _, vals, at in members:
            col = offset + parts[i][0]["_q"].to_numpy()[at]
            p_value, least_p, suffix = filled[i]
            p_value[at], least_p[at], suffix[at] = p[col], min_p[col], "; p: " + method[col] + " of documents"
            offset += vals.shape[1]
    for (out, _, _), (p_value, least_p, suffix) in zip(parts, filled):
        tested = suffix != ""
        out.loc[tested, "p_value"], out.loc[tested, "min_p"] = p_value[tested], least_p[tested]
        out.loc[tested, "ci_method"] += suffix[tested]


def group_differences(counts: pd.DataFrame, word_totals: pd.DataFrame, sentence_scores: pd.DataFrame,
                      doc_units: pd.DataFrame, *, group_col: str, group_a, group_b=REST, n_boot: int = 2000,
                      n_perm: int = 10000, seed: int = 0, confidence: float = 0.95, dedup: str = "drop_copies",
                      categories=None, score_col: str = "compound", sums: dict | None = None) -> pd.DataFrame:
    """Group a minus group b ("rest": every other document with a group) as `differences` rows.

    difference: pooled rate a - pooled rate b (rates per 1,000 words), or the sentence-level
    means and shares of a - b (sentiment). Interval: percentile bootstrap of the difference, each
    group's documents resampled independently (its sentences if it has one document), draws keyed
    by (seed, group). p_value: permutation test of the mean per-document value (rate, mean
    compound, share) over the documents with words (sentences) in that voice and section, exact
    when the relabelings are few. Rows: cells where both groups have words (sentences). `sums`:
    `document_sums(...)` of these tables (its "rates" and score_col), read instead of the row tables.
    """
    _check_params(n_boot, seed, confidence)
    _check_choice(dedup, "dedup", DEDUP)
    if int(n_perm) != n_perm or n_perm < 1:
        raise ValueError(f"n_perm={n_perm!r} must be a positive integer")
    if sums is not None and categories is not None:
        raise ValueError("categories cannot be added to sums (document_sums); pass one or the other")
    side = _groups(doc_units, group_col, group_a, group_b)
    if sums is None:
        _check_all_known(doc_units, counts=counts, word_totals=word_totals, sentence_scores=sentence_scores)
    elif missing := [key for key in ("rates", score_col) if key not in sums]:
        raise ValueError(f"sums have no {missing}; pass document_sums(..., score_cols=[{score_col!r}])")
    drop = dedup == "drop_copies"
    sums = sums or {}
    ratios = [lambda: _with_sums(sums.get("rates"), "rates", drop, lambda: _rate_ratio(
                  counts, word_totals, doc_units, drop_copies=drop, categories=categories)),
              lambda: _with_sums(sums.get(score_col), score_col, drop, lambda: _sentiment_ratio(
                  sentence_scores, doc_units, drop_copies=drop, score_col=score_col))]
    # One ratio at a time (its per-row tables are the task's largest), each let go once summed.
    parts = [_difference_rows(ratio(), side, keys=(group_a, group_b), n_boot=n_boot, seed=seed,
                              confidence=confidence) for ratio in ratios]
    _permutation_pvalues(parts, keys=(group_a, group_b), n_perm=n_perm, seed=seed)
    return pd.concat([part[0][DIFFERENCE_COLUMNS] for part in parts], ignore_index=True)


def contrast_all(counts: pd.DataFrame, word_totals: pd.DataFrame, sentence_scores: pd.DataFrame,
                 doc_units: pd.DataFrame, *, group_col: str, pair=None, **options) -> pd.DataFrame:
    """Each group against the rest, plus the pair (group_a, group_b) if given; never all pairs,
    which would grow with the square of the number of outlets. Options go to `group_differences`."""
    groups = sorted(pd.unique(_doc_unit_map(_doc_table(doc_units), group_col)).tolist(), key=str)
    contrasts = [(g, REST) for g in groups] if len(groups) > 1 else []
    if pair is not None:
        contrasts.append(tuple(pair))
    parts = [group_differences(counts, word_totals, sentence_scores, doc_units, group_col=group_col,
                               group_a=a, group_b=b, **options) for a, b in contrasts]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=DIFFERENCE_COLUMNS)


# ---------------------------------------------------------------------------------------------
# Distinctive terms


def benjamini_hochberg(p) -> np.ndarray:
    """Benjamini & Hochberg (1995) step-up adjusted p-values (q-values): q_(i) = min over j >= i
    of m * p_(j) / j, capped at 1, with p sorted ascending and m the number of non-NaN p-values.
    NaN stays NaN."""
    p = np.asarray(p, float)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if (p[ok] < 0).any() or (p[ok] > 1).any():
        raise ValueError("p-values must lie in [0, 1]")
    m = int(ok.sum())
    if m == 0:
        return q
    order = np.argsort(p[ok], kind="stable")
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    q_ok = np.empty(m)
    q_ok[order] = adjusted
    q[ok] = q_ok
    return q


def log_odds_dirichlet(counts_a, counts_b, prior, *, alpha_0: float | None = None, min_count: int = 0,
                       prior_label: str = "corpus") -> pd.DataFrame:
    """Weighted log-odds ratio with an informative Dirichlet prior ("Fightin' Words": Monroe,
    Colaresi & Quinn 2008, Political Analysis 16(4), eqs. 16, 18-22).

    counts_a, counts_b, prior: term -> count (Series indexed by term, or dict). With y_aw, y_bw the
    counts of term w, n_a, n_b the totals, alpha_w = alpha_0 * prior_w / sum(prior) and
    alpha_0 = sum(prior) by default (alpha_w = the prior counts):

        delta_w = log((y_aw + alpha_w) / (n_a + alpha_0 - y_aw - alpha_w))
                - log((y_bw + alpha_w) / (n_b + alpha_0 - y_bw - alpha_w))
        var(delta_w) ~ 1 / (y_aw + alpha_w) + 1 / (y_bw + alpha_w)
        z_w = delta_w / sqrt(var(delta_w))

    p_value: two-sided normal; q_value: Benjamini-Hochberg over the reported terms (those with
    count_a + count_b >= min_count). Positive z: the term is more typical of a. Sorted by z.
    """
    y_a = pd.Series(counts_a, dtype=float).groupby(level=0).sum()
    y_b = pd.Series(counts_b, dtype=float).groupby(level=0).sum()
    prior = pd.Series(prior, dtype=float).groupby(level=0).sum()
    prior = prior[prior > 0]
    if prior.empty:
        raise ValueError("the prior has no term with a positive count")
    unknown = y_a.index[y_a > 0].union(y_b.index[y_b > 0]).difference(prior.index)
    if len(unknown):
        raise ValueError(f"term(s) counted but without prior mass (alpha_w = 0): {list(unknown[:10])}")
    a0 = float(prior.sum()) if alpha_0 is None else float(alpha_0)
    if not a0 > 0:
        raise ValueError(f"alpha_0={alpha_0!r} must be positive")
    alpha = a0 * prior / prior.sum()
    n_a, n_b = y_a.sum(), y_b.sum()
    y_a, y_b = y_a.reindex(prior.index, fill_value=0.0), y_b.reindex(prior.index, fill_value=0.0)
    delta = (np.log((y_a + alpha) / (n_a + a0 - y_a - alpha))
             - np.log((y_b + alpha) / (n_b + a0 - y_b - alpha)))
    z = delta / np.sqrt(1 / (y_a + alpha) + 1 / (y_b + alpha))
    out = pd.DataFrame({"term": prior.index, "count_a": y_a.to_numpy(), "count_b": y_b.to_numpy(),
                        "log_odds": delta.to_numpy(), "z": z.to_numpy()})
    out = out.loc[out["count_a"] + out["count_b"] >= min_count].copy()
    out["p_value"] = 2 * ndtr(-np.abs(out["z"].to_numpy()))
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy())
    out["alpha_0"] = a0
    out["prior"] = prior_label
    for col in ("count_a", "count_b"):
        out[col] = out[col].round().astype(np.int64)
    return out.sort_values(["z", "term"], ascending=[False, True], ignore_index=True)


def _term_sums(terms: pd.Series, counts: pd.Series, sides: np.ndarray) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Counts summed per term over all rows (the prior) and over the rows of side a and of side b
    (`sides`: _SIDE_A, _SIDE_B or _NEITHER per row, small integers rather than labels, as tens of
    millions of rows are typical): each a Series indexed by the terms present (sorted, as a group-by
    gives them; categories in their order). Integer counts are summed on integer codes; others by
    group-by."""
    if not _integer_counts(counts.dtype):
        frame = pd.DataFrame({"term": terms.to_numpy(), "count": counts.to_numpy(), "side": sides})
        by_side = frame.groupby(["side", "term"])["count"].sum()
        pick = (lambda s: by_side.loc[s] if s in by_side.index.get_level_values(0) else pd.Series(dtype=float))
        return frame.groupby("term")["count"].sum(), pick(_SIDE_A), pick(_SIDE_B)
    if isinstance(terms.dtype, pd.CategoricalDtype):  # the pipeline's term counts: codes are there already
        codes, labels = terms.cat.codes.to_numpy(np.int64), terms.cat.categories
    else:
        codes, labels = pd.factorize(terms, sort=True)
    return _code_sums([(codes, counts, sides)], labels)


def _integer_counts(dtype) -> bool:
    """Counts `_code_sums` can sum: NumPy integers that fit int64 (nullable integers may hold NA:
    those go by group-by)."""
    return isinstance(dtype, np.dtype) and (dtype.kind == "i" or (dtype.kind == "u" and dtype.itemsize < 8))


def _code_sums(blocks, labels: pd.Index) -> tuple[pd.Series, pd.Series, pd.Series]:
    """`_term_sums` of term codes (into `labels`; -1 for a missing term) with integer counts and sides,
    given as blocks of rows and added up block by block: sums of integers, so the same in any blocks,
    with the memory of one block."""
    totals, present = np.zeros((3, len(labels)), np.int64), np.zeros((3, len(labels)), bool)
    any_side = np.zeros(3, bool)
    for codes, counts, sides in blocks:
        codes = np.asarray(codes, np.int64)
        valid = codes >= 0  # a missing term is left out, as by a group-by
        codes, values, sides = codes[valid], counts.to_numpy(np.int64)[valid], sides[valid]
        for k, rows in enumerate((slice(None), sides == _SIDE_A, sides == _SIDE_B)):
            summed, found = _keyed_sums(codes[rows], values[rows], len(labels))
            totals[k] += summed
            present[k] |= found
        any_side |= [True, (sides == _SIDE_A).any(), (sides == _SIDE_B).any()]
    index = pd.Index(labels, name="term")
    return tuple(_present_terms(index, totals[k], present[k], any_side[k] or k == 0) for k in range(3))


def _keyed_sums(keys: np.ndarray, values: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer values summed per key (0 to n_keys - 1), and whether any row has the key (a group-by's
    keys, zero sums included). Float sums of integers below 2**53 are exact."""
    return (np.bincount(keys, weights=values, minlength=n_keys).astype(np.int64),
            np.bincount(keys, minlength=n_keys) > 0)


def _present_terms(index: pd.Index, totals: np.ndarray, present: np.ndarray, kept: bool) -> pd.Series:
    """The sums of the terms present, as the group-by's Series gives them; an empty float Series for a
    side without rows (`kept` False)."""
    return pd.Series(totals[present], index=index[present], name="count") if kept else pd.Series(dtype=float)


# Rows of term counts summed at a time (`_code_sums`): 100,000 articles have 30 million, and each row
# kept costs some 40 bytes of arrays while summed.
_TERM_BLOCK = 1 << 21


def _term_filter(voice, section) -> tuple[str | None, list[str]]:
    """voice and section(s) as the term sums apply them (None: every voice; []: every section), checked."""
    if voice not in (None, ALL):
        _check_choice(voice, "voice", VOICES + (ALL,))
    sections = [] if section in (None, ALL) else [section] if isinstance(section, str) else list(section)
    for s in sections:
        _check_choice(s, "section", SECTIONS)
    return (None if voice in (None, ALL) else voice), sections


def _kept_term_rows(block: pd.DataFrame, doc_units: pd.DataFrame, *, voice, sections, dedup) -> np.ndarray:
    """Positions of a block's term-count rows kept (drop_copies rule, voice, sections), from one mask:
    the table is not copied."""
    also = np.ones(len(block), bool)
    if voice is not None:
        also &= (block["voice"] == voice).to_numpy(bool, na_value=False)
    if sections:
        also &= block["section"].isin(sections).to_numpy(bool)
    return _kept_rows(block, doc_units, drop_copies=dedup == "drop_copies", also=also)


@dataclass(frozen=True)
class GroupTermSums:
    """Term counts summed per group of documents (row i: groups[i]; the last row: documents without a
    group), under one voice, section(s) and dedup rule: what `distinctive_terms` reads with `sums=`
    instead of the term-count rows (30 million at 100,000 articles) once per contrast. Sums of blocks
    of rows add up (`+`) to the sums of the whole table: integers, so exactly."""

    group_col: str
    voice: str | None
    sections: tuple[str, ...]
    dedup: str
    groups: tuple
    labels: pd.Index  # the terms (the categories of the term column)
    totals: np.ndarray  # (groups + 1) x terms, int64
    present: np.ndarray  # the same shape: a kept row of that group names the term (a group-by's keys)

    def __add__(self, other: GroupTermSums) -> GroupTermSums:
        if (self.group_col, self.voice, self.sections, self.dedup, self.groups) != \
                (other.group_col, other.voice, other.sections, other.dedup, other.groups) or \
                not self.labels.equals(other.labels):
            raise ValueError("term sums of different groups, terms, voice, sections or dedup rule cannot be added")
        return replace(self, totals=self.totals + other.totals, present=self.present | other.present)

    def contrast_sums(self, group_a, group_b) -> tuple[pd.Series, pd.Series, pd.Series]:
        """(prior, counts of a, counts of b), as `_code_sums` gives them for the rows of the contrast."""
        a = [self.groups.index(group_a)]
        b = [i for i, g in enumerate(self.groups) if g != group_a] if group_b == REST else [self.groups.index(group_b)]
        index = pd.Index(self.labels, name="term")
        out = []
        for k, rows in enumerate((slice(None), a, b)):
            present = self.present[rows].any(axis=0)
            out.append(_present_terms(index, self.totals[rows].sum(axis=0), present, present.any() or k == 0))
        return tuple(out)


# Cells (groups x terms) up to which `group_term_sums` sums a table: 16 million cells take some 150 MB.
GROUP_TERM_CELLS = 1 << 24


def group_term_sums(term_counts: pd.DataFrame, doc_units: pd.DataFrame, *, group_col: str, voice: str | None = "own",
                    section=None, dedup: str = "drop_copies") -> GroupTermSums | None:
    """The term counts summed per group (`GroupTermSums`), for `distinctive_terms`' `sums=`: built once
    (or a block of rows at a time, the blocks' sums added), where each contrast would otherwise read
    every row. Needs the pipeline's term counts (categorical terms, integer counts); None where the
    table is not such, or where groups x terms exceed GROUP_TERM_CELLS (each contrast then reads the
    rows, as without sums)."""
    _require(term_counts, "term_counts", ["doc_id", "term", "voice", "section", "count"])
    _check_choice(dedup, "dedup", DEDUP)
    voice, sections = _term_filter(voice, section)
    terms = term_counts["term"]
    if not isinstance(terms.dtype, pd.CategoricalDtype) or not _integer_counts(term_counts["count"].dtype):
        return None
    _check_known_docs(term_counts, "term_counts", doc_units)
    doc_group = _doc_table(doc_units).set_index("doc_id")[group_col]
    groups = tuple(sorted(pd.unique(doc_group[doc_group.notna()]).tolist(), key=str))
    labels = terms.cat.categories
    if (len(groups) + 1) * max(len(labels), 1) > GROUP_TERM_CELLS:
        return None
    group_code = positions(pd.Index(groups, dtype=object), doc_group.to_numpy(object))
    group_code = np.where(group_code >= 0, group_code, len(groups))  # no group: the last row
    rows = _kept_term_rows(term_counts, doc_units, voice=voice, sections=sections, dedup=dedup)
    codes = terms.cat.codes.to_numpy(np.int64)[rows]
    row_group = group_code[positions(doc_group.index, term_counts["doc_id"].take(rows))]
    valid = codes >= 0  # a missing term is left out, as by a group-by
    keys = row_group[valid] * len(labels) + codes[valid]
    cells = (len(groups) + 1) * len(labels)
    values = term_counts["count"].to_numpy(np.int64)[rows][valid]
    totals, present = _keyed_sums(keys, values, cells)
    shape = (len(groups) + 1, len(labels))
    return GroupTermSums(group_col, voice, tuple(sections), dedup, groups, labels, totals.reshape(shape),
                         present.reshape(shape))


def distinctive_terms(term_counts: pd.DataFrame, doc_units: pd.DataFrame, *, group_col: str, group_a,
                      group_b=REST, voice: str | None = "own", section=None, alpha_0: float | None = None,
                      min_count: int = 1, dedup: str = "drop_copies", sums: GroupTermSums | None = None
                      ) -> pd.DataFrame:
    """Terms that set group a apart from group b ("rest": every other document with a group), as
    `distinctive_terms` rows, by `log_odds_dirichlet`. The prior is the pooled counts of the whole
    corpus in the same voice and section(s), after the drop_copies rule. voice: one voice, or None /
    "all" for every voice; section: one section, a list, or None / "all" for every section.
    `sums` (`group_term_sums` of these tables, same voice, sections and dedup rule): read instead of
    the rows of term_counts, with the same result.
    """
    _require(term_counts, "term_counts", ["doc_id", "term", "voice", "section", "count"])
    _check_choice(dedup, "dedup", DEDUP)
    voice, sections = _term_filter(voice, section)
    if sums is not None:
        wanted = (group_col, voice, tuple(sections), dedup)
        if not isinstance(sums, GroupTermSums) or (sums.group_col, sums.voice, sums.sections, sums.dedup) != wanted:
            raise ValueError(f"sums are not term sums of group_col={group_col!r}, voice={voice!r}, sections="
                             f"{sections or 'all'}, dedup={dedup!r}; pass group_term_sums(...) built with those, "
                             "or leave sums out")
    else:
        _check_known_docs(term_counts, "term_counts", doc_units)
    side = _groups(doc_units, group_col, group_a, group_b)
    side_codes = np.append(np.where(side.to_numpy() == "b", _SIDE_B, _SIDE_A), _NEITHER).astype(np.int8)

    def kept(block: pd.DataFrame) -> tuple[pd.Series, pd.Series, np.ndarray]:
        """A block's rows kept: terms, counts and sides."""
        rows = _kept_term_rows(block, doc_units, voice=voice, sections=sections, dedup=dedup)
        at = positions(side.index, block["doc_id"].take(rows))  # documents on neither side are left out
        return block["term"].take(rows), block["count"].take(rows), side_codes[at]  # at -1: _NEITHER

    terms = term_counts["term"]
    if sums is not None:
        prior, count_a, count_b = sums.contrast_sums(group_a, group_b)
    elif isinstance(terms.dtype, pd.CategoricalDtype) and _integer_counts(term_counts["count"].dtype):
        # the pipeline's term counts: summed a block of rows at a time (the sums of all rows at once)
        blocks = (kept(term_counts.iloc[start:start + _TERM_BLOCK]) for start in range(0, len(term_counts), _TERM_BLOCK))
        prior, count_a, count_b = _code_sums(((t.cat.codes, c, s) for t, c, s in blocks), terms.cat.categories)
    else:
        prior, count_a, count_b = _term_sums(*kept(term_counts))
    out = log_odds_dirichlet(count_a, count_b, prior, alpha_0=alpha_0, min_count=min_count)
    out.insert(0, "section", "+".join(sections) if sections else ALL)
    out.insert(0, "voice", voice if voice is not None else ALL)
    out.insert(0, "group_b", group_b)
    out.insert(0, "group_a", group_a)
    return out[DISTINCTIVE_COLUMNS]
