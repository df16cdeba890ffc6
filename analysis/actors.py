"""Actors and sourcing: who is named and labelled how, who is quoted, and with which verbs.

Actor aliases are data (`data/actors.csv`: actor, alias, kind name | label, requires, excludes).
A generic label ("regime", "dictator") counts for an actor only in a sentence that matches the
alias's `requires` pattern and not its `excludes` pattern, so the New York Times' "military regimes"
of Cold War history is no label for Maduro.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.measures import annotate_matches, compile_matcher, fold_text, match_documents
from analysis.provenance import DATA_DIR, file_version

DEFAULT_ACTORS = DATA_DIR / "actors.csv"
ACTOR_COLUMNS = ("actor", "alias", "kind", "source", "note", "requires", "excludes")
ACTOR_LEXICON = "actors"
ATTRIBUTION_LEXICON = "attribution"


def load_actors(path: str | Path | None = None) -> pd.DataFrame:
    """Read and check an actors file; regexes must compile, kind is name or label."""
    path = Path(path or DEFAULT_ACTORS)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ACTOR_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: actors file lacks column(s) {missing}; expected {list(ACTOR_COLUMNS)}")
    for row_no, row in enumerate(table.itertuples(index=False), start=2):
        if not row.actor or not row.alias:
            raise ValueError(f"{path} line {row_no}: actor and alias must not be empty")
        if row.kind not in {"name", "label"}:
            raise ValueError(f"{path} line {row_no}: kind {row.kind!r} is not one of name, label")
        for col in ("requires", "excludes"):
            try:
                re.compile(getattr(row, col))
            except re.error as exc:
                raise ValueError(f"{path} line {row_no}: {col} pattern does not compile: {exc}") from exc
    table["version"] = file_version(path)
    return table


def _actor_lexicon(actors: pd.DataFrame) -> pd.DataFrame:
    """The aliases as a lexicon table for the shared matcher (category = actor)."""
    return pd.DataFrame({
        "term": actors["alias"], "category": actors["actor"], "kind": "term", "case_sensitive": False,
        "forms": "", "exclude_before": "", "exclude_after": "", "source": actors["source"],
        "note": actors["note"], "lexicon": ACTOR_LEXICON, "lexicon_version": actors["version"]})


def actor_mentions(documents: pd.DataFrame, sentences: pd.DataFrame, spans: pd.DataFrame,
                   actors: pd.DataFrame) -> pd.DataFrame:
    """Every alias occurrence that refers to its actor, in its sentence, section and voice.

    Columns: the matches columns plus actor, alias, kind.
    """
    raw = match_documents(documents, compile_matcher(_actor_lexicon(actors)))
    found = annotate_matches(raw, documents, sentences, spans)
    found = found.rename(columns={"category": "actor", "term": "alias"}).drop(columns=["lexicon"])
    info = actors.drop_duplicates(["actor", "alias"]).set_index(["actor", "alias"])
    keys = pd.MultiIndex.from_frame(found[["actor", "alias"]])
    found["kind"] = info["kind"].reindex(keys).to_numpy()
    requires = info["requires"].reindex(keys).to_numpy()
    excludes = info["excludes"].reindex(keys).to_numpy()
    text = sentences.set_index(["doc_id", "sentence_id"])["text"]
    folded = [fold_text(t).lower() for t in text.reindex(pd.MultiIndex.from_frame(found[["doc_id", "sentence_id"]]))]
    keep = np.array([(not req or re.search(req, s) is not None) and (not exc or re.search(exc, s) is None)
                     for req, exc, s in zip(requires, excludes, folded)], dtype=bool)
    return found[keep].reset_index(drop=True)


def actor_labels(mentions: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """Which names and labels each outlet uses for each actor, by voice: outlet, doc_id, actor, kind,
    alias, voice, section, count."""
    outlets = documents.set_index("doc_id")["outlet"]
    table = mentions.assign(outlet=mentions["doc_id"].map(outlets))
    keys = ["outlet", "doc_id", "actor", "kind", "alias", "voice", "section"]
    return table.groupby(keys, sort=True).size().rename("count").reset_index()


def actor_sentences(mentions: pd.DataFrame) -> pd.DataFrame:
    """Distinct (doc_id, sentence_id, actor): the sentences that mention each actor."""
    return mentions[["doc_id", "sentence_id", "actor"]].drop_duplicates().reset_index(drop=True)


def attribution_verbs(matches: pd.DataFrame, spans: pd.DataFrame) -> pd.DataFrame:
    """Attribution matches (neutral and loaded verbs, evidentials, anonymous-source markers) with the
    speaker a span of the same sentence names, so "said" and "claimed" can be compared per source."""
    return _attribution_rows(matches, _sentence_speakers(spans))


def attribution_verbs_in_blocks(matches: pd.DataFrame, spans: pd.DataFrame, rows: int):
    """`attribution_verbs` of `rows` rows of matches at a time, as an iterator of tables (at least
    one): joined, those with rows are `attribution_verbs(matches, spans)`. The speakers are looked up
    once; a caller that writes each block as it comes never holds the whole table."""
    speaker = _sentence_speakers(spans)
    for start in range(0, max(len(matches), 1), rows):
        yield _attribution_rows(matches.iloc[start:start + rows], speaker)


def _sentence_speakers(spans: pd.DataFrame) -> pd.Series:
    """The speaker a span of each (doc_id, sentence_id) names (the first such span's)."""
    named = spans.loc[(spans["speaker"].fillna("") != "").to_numpy(bool), ["doc_id", "sentence_id", "speaker"]]
    return named.drop_duplicates(["doc_id", "sentence_id"]).set_index(["doc_id", "sentence_id"])["speaker"]


def _attribution_rows(matches: pd.DataFrame, speaker: pd.Series) -> pd.DataFrame:
    # The rows and columns kept, taken once: the matches table (millions of rows) is not copied whole.
    found = matches.loc[(matches["lexicon"] == ATTRIBUTION_LEXICON).to_numpy(bool),
                        ["doc_id", "sentence_id", "section", "start", "end", "match", "term", "category", "voice"]]
    keys = pd.MultiIndex.from_frame(found[["doc_id", "sentence_id"]])
    found["speaker"] = speaker.reindex(keys).fillna("").array  # Arrow strings: no Python str objects
    return found.reset_index(drop=True)


def sourcing(documents: pd.DataFrame, spans: pd.DataFrame, word_totals: pd.DataFrame,
             matches: pd.DataFrame) -> pd.DataFrame:
    """Per document, how it sources (long table: doc_id, outlet, measure, value).

    share_quoted / share_reported (of all words), quotes (speech spans), reported (indirect-speech
    spans), scare_quotes, named_sources (distinct speakers a span names), anonymous_markers,
    neutral_verbs, loaded_verbs and evidentials (attribution matches in the outlet's own voice: a
    quoted person's "claimed" is not the outlet's choice of verb).
    """
    doc_ids = documents["doc_id"]
    words = word_totals.pivot_table(index="doc_id", columns="voice", values="n_words", aggfunc="sum", fill_value=0)
    words = words.reindex(index=doc_ids, columns=["own", "quoted", "reported"], fill_value=0)
    total = words.sum(axis=1).replace(0, np.nan)
    kinds = spans.groupby(["doc_id", "kind"]).size().unstack(fill_value=0)
    kinds = kinds.reindex(index=doc_ids, columns=["speech", "reported", "scare"], fill_value=0)
    speakers = spans[spans["speaker"].fillna("") != ""].groupby("doc_id")["speaker"].nunique()
    own_attr = matches.loc[((matches["lexicon"] == ATTRIBUTION_LEXICON) & (matches["voice"] == "own")).to_numpy(bool),
                           ["doc_id", "category"]]
    attr = own_attr.groupby(["doc_id", "category"]).size().unstack(fill_value=0)
    attr = attr.reindex(index=doc_ids, columns=["anonymous_source", "neutral_verb", "loaded_verb", "evidential"],
                        fill_value=0)
    wide = pd.DataFrame({
        "share_quoted": words["quoted"] / total, "share_reported": words["reported"] / total,
        "quotes": kinds["speech"], "reported": kinds["reported"], "scare_quotes": kinds["scare"],
        "named_sources": speakers.reindex(doc_ids).fillna(0).astype(int).to_numpy(),
        "anonymous_markers": attr["anonymous_source"], "neutral_verbs": attr["neutral_verb"],
        "loaded_verbs": attr["loaded_verb"], "evidentials": attr["evidential"]}, index=doc_ids)
    long = wide.reset_index().melt(id_vars="doc_id", var_name="measure", value_name="value")
    long.insert(1, "outlet", long["doc_id"].map(documents.set_index("doc_id")["outlet"]))
    return long.sort_values(["doc_id", "measure"], ignore_index=True)
