"""Validation of the dictionaries by hand coding: export a coding sheet, score the coded sheet.

A dictionary count is only as good as its matches. `coding_sheet` draws a stratified random sample
of matches (and of sentences without a match) for a person to code; `score_sheet` turns the codes
into precision per lexicon × category and a rough recall estimate per lexicon, with Wilson
intervals. The procedure, the statistics and their limits are in `docs/spotcheck.md`.
"""

from __future__ import annotations

import math
from pathlib import Path
from statistics import NormalDist

import numpy as np
import pandas as pd

from analysis.compare import DEDUP, drop_copy_bodies
from analysis.measures import context_window
from analysis.provenance import keyed_rng

SHEET_COLUMNS = [
    "sheet_row", "row_type", "stratum", "stratum_size", "doc_id", "outlet", "section", "sentence_id", "start",
    "end", "lexicon", "category", "term", "match", "voice", "scare_quote", "left_context", "right_context",
    "sentence", "code", "coder_note",
]
ROW_TYPES = ("match", "no_match")
CODES = ("yes", "no")
REQUIRED_STRATA = ("lexicon", "category")
SCORE_COLUMNS = [
    "measure", "lexicon", "category", "n", "n_yes", "n_blank", "precision", "miss_rate", "recall", "ci_low",
    "ci_high", "ci_method", "matches_in_corpus", "est_true_matches", "unmatched_sentences", "est_missed",
]
_MATCH_COLUMNS = ("doc_id", "sentence_id", "section", "start", "end", "match", "term", "lexicon", "category",
                  "voice", "scare_quote")
_SENTENCE_COLUMNS = ("doc_id", "sentence_id", "section", "start", "end", "text")


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion k/n (Wilson 1927, JASA 22: 209–212).

    With z the standard normal quantile at 1 − (1 − confidence)/2:

        centre     = (k + z²/2) / (n + z²)
        half-width = z / (n + z²) · sqrt(k(n − k)/n + z²/4)

    Unlike the Wald interval p ± z·sqrt(p(1−p)/n) it stays inside [0, 1] and keeps close to its
    nominal coverage for small n and for k = 0 or k = n, which is why Brown, Cai & DasGupta (2001,
    Statistical Science 16: 101–133) recommend it for n < 40.  Returns (low, high).
    """
    if not (isinstance(n, int | np.integer) and isinstance(k, int | np.integer)) or n < 1 or not 0 <= k <= n:
        raise ValueError(f"wilson_interval needs integers 0 <= k <= n and n >= 1; got k={k!r}, n={n!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence!r} must be strictly between 0 and 1")
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    centre = (k + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * math.sqrt(k * (n - k) / n + z * z / 4)
    # at k = 0 (k = n) the lower (upper) bound is exactly 0 (1); rounding error would leave 1e-17
    return (0.0 if k == 0 else centre - half), (1.0 if k == n else centre + half)


def _require(table: pd.DataFrame, columns, name: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it needs {list(columns)}")


def _stratum_id(values) -> str:
    return " | ".join(map(str, values))


def _sample(frame: pd.DataFrame, size: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) <= size:
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), size=size, replace=False))]


def coding_sheet(matches: pd.DataFrame, sentences: pd.DataFrame, documents: pd.DataFrame, *, per_stratum: int = 10,
                 no_match_sentences: int = 20, seed: int = 0, strata=("lexicon", "category", "outlet"),
                 context: int = 60, dedup: str = "drop_copies") -> pd.DataFrame:
    """A sheet for hand coding: a stratified random sample of matches, and per lexicon a simple random
    sample of sentences with no match in that lexicon.

    Match rows: up to `per_stratum` matches from each stratum (the combination of the `strata`
    columns; they must include lexicon and category), drawn without replacement by a generator seeded
    from (seed, stratum), with `context` characters of keyword in context each side and the sentence.
    A coder writes yes/no in `code`: is the match an instance of its category as the lexicon README
    defines it? No-match rows: `no_match_sentences` sentences per lexicon; `code` yes means the
    sentence holds an instance the lexicon missed. `stratum_size` is the number of matches (or
    unmatched sentences) the row's stratum was drawn from; `score_sheet` uses it.

    dedup="drop_copies" (default, as in `measure`) samples from what the estimates count: the body of a
    document that copies another (`duplicate_of` set) is left out, its own sections stay in; "keep"
    samples every document.
    """
    _require(matches, _MATCH_COLUMNS, "matches")
    _require(sentences, _SENTENCE_COLUMNS, "sentences")
    _require(documents, ("doc_id", "outlet"), "documents")
    for name, value, low in (("per_stratum", per_stratum, 1), ("no_match_sentences", no_match_sentences, 0),
                             ("context", context, 0)):
        if not isinstance(value, int | np.integer) or value < low:
            raise ValueError(f"{name}={value!r} must be an integer >= {low}")
    if dedup not in DEDUP:
        raise ValueError(f"dedup={dedup!r} is not one of {list(DEDUP)}")
    strata = tuple(strata)
    allowed = sorted(set(_MATCH_COLUMNS) - {"start", "end", "match"} | {"outlet"})
    unknown = [s for s in strata if s not in allowed]
    if unknown or not set(REQUIRED_STRATA) <= set(strata) or len(set(strata)) != len(strata):
        raise ValueError(f"strata={strata!r}: must list distinct columns from {allowed}, including "
                         f"{list(REQUIRED_STRATA)} (precision is reported per lexicon × category)")

    outlets = documents.drop_duplicates("doc_id").set_index("doc_id")["outlet"]
    if dedup == "drop_copies":
        copies = documents.assign(exclude_body=documents["duplicate_of"].fillna("").astype(str) != "")
        matches, sentences = drop_copy_bodies(matches, copies), drop_copy_bodies(sentences, copies)
    sents = sentences.set_index(["doc_id", "sentence_id"])
    table = matches.assign(outlet=matches["doc_id"].map(outlets))
    if table["outlet"].isna().any():
        missing = sorted(table.loc[table["outlet"].isna(), "doc_id"].unique())
        raise ValueError(f"matches name doc_id(s) {missing} that are not in documents")
    table = table.sort_values(["doc_id", "sentence_id", "start", "end", "lexicon", "category", "term"],
                              kind="mergesort")

    rows = []
    for key, group in table.groupby(list(strata), sort=True):
        for match in _sample(group, per_stratum, keyed_rng(seed, *key)).itertuples(index=False):
            try:
                sentence = sents.loc[(match.doc_id, match.sentence_id)]
            except KeyError:
                raise ValueError(f"match {match.match!r} in doc {match.doc_id!r} names sentence "
                                 f"{match.sentence_id!r}, which is not in sentences") from None
            a, b = match.start - sentence["start"], match.end - sentence["start"]
            if sentence["text"][a:b] != match.match:
                raise ValueError(f"match {match.match!r} at {match.start}-{match.end} of doc {match.doc_id!r} is "
                                 f"not in its sentence's text: were matches and sentences made in one run?")
            left, right = context_window(sentence["text"], a, b, context)
            rows.append({
                "row_type": "match", "stratum": _stratum_id(key), "stratum_size": len(group),
                "doc_id": match.doc_id, "outlet": match.outlet, "section": match.section,
                "sentence_id": match.sentence_id, "start": match.start, "end": match.end,
                "lexicon": match.lexicon, "category": match.category, "term": match.term, "match": match.match,
                "voice": match.voice, "scare_quote": match.scare_quote, "left_context": left,
                "right_context": right, "sentence": sentence["text"],
            })

    all_sentences = sentences.sort_values(["doc_id", "sentence_id"], kind="mergesort")
    sentence_keys = pd.MultiIndex.from_frame(all_sentences[["doc_id", "sentence_id"]])
    for lexicon in sorted(table["lexicon"].unique()):
        matched = pd.MultiIndex.from_frame(table.loc[table["lexicon"] == lexicon, ["doc_id", "sentence_id"]])
        unmatched = all_sentences[~sentence_keys.isin(matched)]
        for sentence in _sample(unmatched, no_match_sentences, keyed_rng(seed, "no_match", lexicon)).itertuples():
            rows.append({
                "row_type": "no_match", "stratum": _stratum_id((lexicon, "no_match")),
                "stratum_size": len(unmatched), "doc_id": sentence.doc_id,
                "outlet": outlets.get(sentence.doc_id), "section": sentence.section,
                "sentence_id": sentence.sentence_id, "lexicon": lexicon, "sentence": sentence.text,
            })

    sheet = pd.DataFrame(rows, columns=SHEET_COLUMNS)
    for column in ("start", "end"):
        sheet[column] = sheet[column].astype("Int64")
    text_columns = ["category", "term", "match", "voice", "scare_quote", "left_context", "right_context", "code",
                    "coder_note"]
    sheet[text_columns] = sheet[text_columns].astype(object).where(sheet[text_columns].notna(), "")
    sheet["sheet_row"] = np.arange(1, len(sheet) + 1)
    return sheet


def write_coding_sheet(sheet: pd.DataFrame, path: str | Path) -> Path:
    """Write a coding sheet as CSV (UTF-8, '\n' line ends, columns in sheet order): deterministic bytes."""
    _require(sheet, SHEET_COLUMNS, "sheet")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet[SHEET_COLUMNS].to_csv(path, index=False, lineterminator="\n")
    return path


def read_coding_sheet(path: str | Path) -> pd.DataFrame:
    """Read a (coded) sheet back with every text cell as written: doc_id '004' stays '004', a blank stays ''."""
    sheet = pd.read_csv(path, dtype=str, keep_default_na=False)
    _require(sheet, SHEET_COLUMNS, f"coding sheet {Path(path).name}")
    for column in ("sheet_row", "stratum_size", "sentence_id"):
        sheet[column] = sheet[column].astype(int)
    for column in ("start", "end"):
        sheet[column] = pd.to_numeric(sheet[column].replace("", None)).astype("Int64")
    return sheet


def _codes(sheet: pd.DataFrame) -> pd.Series:
    """The sheet's codes, lower-cased and stripped; '' for blank. Any other value is an error naming its rows."""
    codes = sheet["code"].fillna("").astype(str).str.strip().str.lower()
    bad = sheet.loc[~codes.isin(("", *CODES)), ["sheet_row", "code"]]
    if len(bad):
        where = "; ".join(f"sheet row {r.sheet_row}: {r.code!r}" for r in bad.itertuples())
        raise ValueError(f"invalid code(s): {where}. Allowed: {', '.join(CODES)} (any case) or blank")
    return codes


def _proportion(k: int, n: int) -> dict:
    if n == 0:
        return {"value": math.nan, "ci_low": math.nan, "ci_high": math.nan, "ci_method": "none (no coded rows)"}
    low, high = wilson_interval(k, n)
    return {"value": k / n, "ci_low": low, "ci_high": high, "ci_method": "Wilson score, 95%"}


def _recall(true: float, missed: float) -> float:
    return true / (true + missed) if true + missed > 0 else math.nan


def score_sheet(sheet: pd.DataFrame) -> pd.DataFrame:
    """Precision per lexicon × category, and per lexicon the miss rate and a rough recall, from a coded sheet.

    - precision = n_yes / n over the coded match rows of a lexicon × category (blank codes left out and
      counted in n_blank), with a 95% Wilson interval (`wilson_interval`). Unweighted: strata capped at
      per_stratum are under-represented relative to small ones.
    - miss_rate = share of the coded no_match rows whose sentence holds an instance the lexicon missed,
      with its Wilson interval.
    - recall = T / (T + M), where T = Σ over categories of precision × matches_in_corpus (estimated true
      matches) and M = miss_rate × unmatched_sentences (estimated missed instances, at most one per
      sentence, and none counted in sentences that have a match). ci_low / ci_high plug the Wilson
      bounds of precision and miss rate in together: a rough range, not a confidence interval.
    """
    _require(sheet, ("sheet_row", "row_type", "stratum", "stratum_size", "lexicon", "category", "code"), "sheet")
    bad_types = sorted(set(sheet["row_type"]) - set(ROW_TYPES))
    if bad_types:
        raise ValueError(f"row_type value(s) {bad_types} are not one of {list(ROW_TYPES)}")
    sheet = sheet.assign(code=_codes(sheet))
    sheet = sheet.assign(coded=sheet["code"] != "", yes=sheet["code"] == "yes")
    rows = []
    for lexicon in sorted(sheet["lexicon"].unique()):
        lex = sheet[sheet["lexicon"] == lexicon]
        match_rows = lex[lex["row_type"] == "match"]
        est_true = est_true_low = est_true_high = 0.0
        matches_in_lexicon = 0
        for category, cat in match_rows.groupby("category", sort=True):
            n, k = int(cat["coded"].sum()), int(cat["yes"].sum())
            size = int(cat.drop_duplicates("stratum")["stratum_size"].sum())
            p = _proportion(k, n)
            rows.append({"measure": "precision", "lexicon": lexicon, "category": category, "n": n, "n_yes": k,
                         "n_blank": len(cat) - n, "precision": p.pop("value"), **p, "matches_in_corpus": size})
            matches_in_lexicon += size
            est_true += rows[-1]["precision"] * size
            est_true_low += rows[-1]["ci_low"] * size
            est_true_high += rows[-1]["ci_high"] * size
        unmatched_rows = lex[lex["row_type"] == "no_match"]
        if unmatched_rows.empty:
            continue
        n, k = int(unmatched_rows["coded"].sum()), int(unmatched_rows["yes"].sum())
        unmatched = int(unmatched_rows["stratum_size"].iloc[0])
        q = _proportion(k, n)
        rows.append({"measure": "miss_rate", "lexicon": lexicon, "category": "all", "n": n, "n_yes": k,
                     "n_blank": len(unmatched_rows) - n, "miss_rate": q["value"], "ci_low": q["ci_low"],
                     "ci_high": q["ci_high"], "ci_method": q["ci_method"], "unmatched_sentences": unmatched})
        est_missed = q["value"] * unmatched
        rows.append({
            "measure": "recall", "lexicon": lexicon, "category": "all",
            "precision": est_true / matches_in_lexicon if matches_in_lexicon else math.nan,
            "miss_rate": q["value"], "recall": _recall(est_true, est_missed),
            "ci_low": _recall(est_true_low, q["ci_high"] * unmatched),
            "ci_high": _recall(est_true_high, q["ci_low"] * unmatched),
            "ci_method": "rough range: Wilson bounds of precision and miss rate plugged in (not a confidence "
                         "interval)",
            "matches_in_corpus": matches_in_lexicon, "est_true_matches": est_true,
            "unmatched_sentences": unmatched, "est_missed": est_missed,
        })
    scores = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    for column in ("n", "n_yes", "n_blank", "matches_in_corpus", "unmatched_sentences"):
        scores[column] = scores[column].astype("Int64")
    scores.attrs["n_blank"] = int((~sheet["coded"]).sum())
    return scores


def _fmt(value, digits: int) -> str:
    return "" if pd.isna(value) else f"{value:.{digits}f}"


def scores_markdown(scores: pd.DataFrame) -> str:
    """The scores as two Markdown tables (precision; miss rate and recall), rounded as the README shows them."""
    lines = ["| lexicon | category | n | yes | precision | 95% Wilson interval | matches in corpus |",
             "| --- | --- | ---: | ---: | ---: | --- | ---: |"]
    for r in scores[scores["measure"] == "precision"].itertuples():
        lines.append(f"| {r.lexicon} | {r.category} | {r.n} | {r.n_yes} | {_fmt(r.precision, 2)} | "
                     f"{_fmt(r.ci_low, 2)}–{_fmt(r.ci_high, 2)} | {r.matches_in_corpus} |")
    lines += ["", ("| lexicon | unmatched sentences coded | missed (yes) | miss rate (95% Wilson) | "
                   "unmatched sentences | est. missed | est. true matches | est. recall (rough range) |"),
              "| --- | ---: | ---: | --- | ---: | ---: | ---: | --- |"]
    misses = scores[scores["measure"] == "miss_rate"].set_index("lexicon")
    for r in scores[scores["measure"] == "recall"].itertuples():
        m = misses.loc[r.lexicon]
        lines.append(f"| {r.lexicon} | {m['n']} | {m['n_yes']} | {_fmt(m['miss_rate'], 2)} "
                     f"({_fmt(m['ci_low'], 2)}–{_fmt(m['ci_high'], 2)}) | {r.unmatched_sentences} | "
                     f"{_fmt(r.est_missed, 1)} | {_fmt(r.est_true_matches, 1)} | {_fmt(r.recall, 2)} "
                     f"({_fmt(r.ci_low, 2)}–{_fmt(r.ci_high, 2)}) |")
    return "\n".join(lines) + "\n"
