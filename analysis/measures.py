"""Measures: lexicon matches and VADER sentence scores.

Builds the contract's `matches` table (before the lead joins sentences, sections, voices and raw
offsets) and the score columns of `sentence_scores`. The matching rules (accent and hyphen
folding, whole words, leftmost-longest per lexicon, exclusions) are stated in docs/matching.md.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import ahocorasick
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.corpus import to_raw_offsets_many
from analysis.frames import categories_at, labels_at, looked_up_by_runs, run_starts
from analysis.provenance import PACKAGE_DIR, file_version
from analysis.text import last_start_at, voices_at, words_with_spans

LEXICON_DIR = PACKAGE_DIR / "lexicons"
LEXICON_COLUMNS = ("term", "category", "kind", "case_sensitive", "forms", "exclude_before",
                   "exclude_after", "source", "note")
MATCH_COLUMNS = ("doc_id", "start", "end", "match", "term", "lexicon", "category")
SCORE_COLUMNS = ("doc_id", "sentence_id", "compound", "pos", "neu", "neg")
KINDS = ("term", "pattern")
# Exclusion regexes see this many characters on each side of a match: a few words is all a
# disambiguation needs, and a bounded window keeps matching linear in the text length.
EXCLUSION_WINDOW = 200

# ---------------------------------------------------------------------------------------------
# Folding: one character in, one character out, so offsets in folded text are offsets in the text.

# hyphen-minus, hyphen, non-breaking hyphen, figure dash, en dash
_HYPHENS = "-\u2010\u2011\u2012\u2013"
_HYPHEN = re.compile(f"[{_HYPHENS}]")
_HYPHEN_TO_SPACE = str.maketrans(dict.fromkeys(_HYPHENS, " "))
_APOSTROPHES = frozenset("\u2018\u2019\u02bc")  # curly single quotes and modifier apostrophe


def _fold_char(char: str) -> str:
    """Whitespace becomes a space, curly apostrophes "'", accented letters their base letter."""
    if char.isspace():
        return " "
    if char in _APOSTROPHES:
        return "'"
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base if len(base) == 1 else char


class _FoldCache(dict):
    """Folded form of each character seen so far (a text uses few distinct special characters)."""

    def __missing__(self, char: str) -> str:
        folded = self[char] = _fold_char(char)
        return folded


_FOLDED = _FoldCache()
# Printable ASCII folds to itself; only the rest (about 1% of news text) is looked up, which is
# ~3x faster than str.translate over every character.
_SPECIAL = re.compile(r"[^ -~]")


def fold_text(text: str, *, case_sensitive: bool = False, hyphens_as_spaces: bool = True) -> str:
    """The text as the matcher sees it: same length, each character folded on its own.

    Accents dropped (Nicolás -> Nicolas), any whitespace -> one space, curly apostrophes -> "'",
    lower case unless `case_sensitive`, and hyphens and en dashes -> space unless
    `hyphens_as_spaces` is False (the view that patterns and exclusions see).
    """
    folded = _SPECIAL.sub(lambda char: _FOLDED[char.group()], text)
    if hyphens_as_spaces:
        folded = _HYPHEN.sub(" ", folded)
    return folded if case_sensitive else _lower(folded)


def _lower(folded: str) -> str:
    lowered = folded.lower()
    if len(lowered) == len(folded):
        return lowered
    # A few code points lower-case to two; keep those as they are so offsets stay 1:1.
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in folded)


# ---------------------------------------------------------------------------------------------
# Lexicons


_ESCAPE = re.compile(r"\\N\{[^}]*\}|\\.", re.DOTALL)


def _check_regex(source: str, flags: int, what: str) -> str | None:
    try:
        compiled = re.compile(source, flags)
    except re.error as exc:
        return f"{what} {source!r} does not compile ({exc}); fix the regular expression"
    if what == "pattern":
        if compiled.match("") is not None:
            return f"pattern {source!r} matches empty text; make it require at least one character"
        # Case-insensitive patterns run on the lower-cased text without re.IGNORECASE (ten times
        # faster in Python's re), so a capital outside an escape could never match.
        if flags and (unescaped := _ESCAPE.sub("", source)) != unescaped.lower():
            return (f"pattern {source!r} has capitals but case_sensitive is 0; case-insensitive "
                    "patterns run on lower-cased text, so write them in lower case")
    unescaped = _ESCAPE.sub("", source)
    if fold_text(unescaped, case_sensitive=True, hyphens_as_spaces=False) != unescaped:
        return (f"{what} {source!r} has characters that never occur in the text it runs on "
                "(accents are removed, whitespace is a space, curly apostrophes are \"'\"); "
                "write it without them")
    return None


def _surface_problem(surface: str, case_sensitive: bool) -> str | None:
    if surface != " ".join(surface.split()):
        return (f"{surface!r} has leading, trailing or repeated spaces; separate words by one space")
    if not case_sensitive and surface != surface.lower():
        return (f"{surface!r} has capitals but case_sensitive is 0; lower-case it, or set "
                "case_sensitive to 1 if the capitals matter")
    return None


def _validate_lexicon(table: pd.DataFrame, name: str) -> list[bool]:
    """Check every row of one lexicon file; returns case_sensitive as booleans."""

    def fail(index: int, message: str):
        raise ValueError(f"lexicon {name}, data row {index + 1} (line {index + 2} counting the "
                         f"header): {message}")

    flags_of = []
    keys: dict[tuple[str, bool], tuple[int, str]] = {}
    for index, row in enumerate(table.itertuples(index=False)):
        if not row.term.strip():
            fail(index, "term is empty; every row needs a term (or a regex for kind=pattern)")
        if not row.category.strip():
            fail(index, f"category is empty for term {row.term!r}; name the category")
        if row.kind not in KINDS:
            fail(index, f"kind {row.kind!r} is not one of {', '.join(KINDS)}")
        if row.case_sensitive not in ("0", "1"):
            fail(index, f"case_sensitive {row.case_sensitive!r} must be 0 or 1")
        case_sensitive = row.case_sensitive == "1"
        flags = 0 if case_sensitive else re.IGNORECASE
        for column in ("exclude_before", "exclude_after"):
            source = getattr(row, column)
            if source and (problem := _check_regex(source, flags, column)):
                fail(index, problem)
        if row.kind == "pattern":
            if problem := _check_regex(row.term, flags, "pattern"):
                fail(index, problem)
            if row.forms:
                fail(index, "forms are only for kind=term; write the variants into the pattern")
        else:
            for surface in [row.term, *row.forms.split("|")] if row.forms else [row.term]:
                if problem := _surface_problem(surface, case_sensitive):
                    fail(index, problem)
                key = (fold_text(surface, case_sensitive=case_sensitive), case_sensitive)
                first, listed = keys.setdefault(key, (index, surface))
                if first != index:  # a row's own variant ("far left" | "far-left") is harmless
                    fail(index, f"{surface!r} matches the same text as {listed!r} in data row "
                                f"{first + 1} (matching folds accents, hyphens and case); keep one "
                                "row for it")
        flags_of.append(case_sensitive)
    return flags_of


def _read_lexicon(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"lexicon {path}: cannot read it as a UTF-8 CSV ({exc})") from exc
    missing = [column for column in LEXICON_COLUMNS if column not in table.columns]
    if missing:
        raise ValueError(f"lexicon {path}: missing column(s) {', '.join(missing)}; a lexicon has "
                         f"the columns {','.join(LEXICON_COLUMNS)}")
    table = table.loc[:, list(LEXICON_COLUMNS)]
    for column in ("category", "kind", "case_sensitive", "forms"):
        table[column] = table[column].str.strip()
    table["case_sensitive"] = _validate_lexicon(table, str(path))
    table["lexicon"] = path.stem
    table["lexicon_version"] = file_version(path)
    return table


def load_lexicons(paths=None) -> pd.DataFrame:
    """Read and validate lexicon CSVs; by default every `analysis/lexicons/*.csv`.

    One row per entry with the file's columns, `case_sensitive` as bool, plus `lexicon` (the file
    stem) and `lexicon_version` (first 12 hex digits of the file's sha256).
    """
    if paths is None:
        paths = sorted(LEXICON_DIR.glob("*.csv"))
        if not paths:
            raise ValueError(f"no lexicon files (*.csv) in {LEXICON_DIR}")
    elif isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(path) for path in paths]
    stems = [path.stem for path in paths]
    clashes = sorted({stem for stem in stems if stems.count(stem) > 1})
    if clashes:
        raise ValueError(f"lexicon names must be unique, but several files are named {clashes}; "
                         "rename one (the file stem is the lexicon name)")
    return pd.concat([_read_lexicon(path) for path in paths], ignore_index=True)


def lexicon_versions(lexicons: pd.DataFrame) -> dict[str, str]:
    """{lexicon name: version} for the lexicons of a `load_lexicons` table."""
    pairs = lexicons.drop_duplicates("lexicon")
    return dict(zip(pairs["lexicon"], pairs["lexicon_version"]))


# ---------------------------------------------------------------------------------------------
# Matching


class _Entry(NamedTuple):
    rank: int  # position of the lexicon: non-overlap is decided per lexicon
    lexicon: str
    term: str
    category: str
    exclude_before: re.Pattern | None
    exclude_after: re.Pattern | None


@dataclass(frozen=True)
class Matcher:
    """Compiled lexicons: one Aho-Corasick automaton over the folded keys of every literal term,
    and per case mode one regex that scans for all patterns at once. Picklable, so workers can
    share it."""

    entries: tuple[_Entry, ...]
    automaton: ahocorasick.Automaton | None
    # (case_sensitive, scan of all patterns, ((entry index, pattern), ...)) per case mode
    pattern_groups: tuple[tuple[bool, re.Pattern, tuple[tuple[int, re.Pattern], ...]], ...]
    versions: dict


def compile_matcher(lexicons: pd.DataFrame | None = None) -> Matcher:
    """Compile a `load_lexicons` table (default: the packaged lexicons) for `find_matches`."""
    if lexicons is None:
        lexicons = load_lexicons()
    missing = [c for c in (*LEXICON_COLUMNS, "lexicon", "lexicon_version") if c not in lexicons]
    if missing:
        raise ValueError(f"lexicons table lacks column(s) {', '.join(missing)}; build it with "
                         "load_lexicons()")
    ranks = {name: rank for rank, name in enumerate(dict.fromkeys(lexicons["lexicon"]))}
    entries = []
    patterns: dict[bool, list[tuple[int, re.Pattern]]] = {False: [], True: []}
    keys: dict[str, list[tuple[int, str | None]]] = {}
    for index, row in enumerate(lexicons.itertuples(index=False)):
        case_sensitive = row.case_sensitive in (True, 1, "1")
        flags = 0 if case_sensitive else re.IGNORECASE
        entries.append(_Entry(
            ranks[row.lexicon], row.lexicon, row.term, row.category,
            re.compile(row.exclude_before, flags) if row.exclude_before else None,
            re.compile(row.exclude_after, flags) if row.exclude_after else None,
        ))
        if row.kind == "pattern":
            patterns[case_sensitive].append((index, re.compile(row.term)))
            continue
        surfaces = [row.term, *row.forms.split("|")] if row.forms else [row.term]
        for surface in dict.fromkeys(fold_text(s, case_sensitive=case_sensitive) for s in surfaces):
            # Case-sensitive entries share the automaton; their case is checked on the hit.
            keys.setdefault(_lower(surface), []).append((index, surface if case_sensitive else None))
    automaton = None
    if keys:
        automaton = ahocorasick.Automaton()
        for key, hits in keys.items():
            # Whole words: a key edge that is a word character must not touch another one.
            automaton.add_word(key, (len(key), key[0].isalnum(), key[-1].isalnum(), tuple(hits)))
        automaton.make_automaton()
    return Matcher(
        entries=tuple(entries),
        automaton=automaton,
        pattern_groups=tuple(
            (case_sensitive, re.compile("|".join(f"(?:{regex.pattern})" for _, regex in group)),
             tuple(group))
            for case_sensitive, group in patterns.items() if group),
        versions=lexicon_versions(lexicons),
    )


def _candidates(matcher: Matcher, cased: str, lowered: str) -> list[tuple[int, int, int]]:
    """Every (entry index, start, end) hit before exclusions and overlap resolution.

    `cased` and `lowered` are the folded text with hyphens kept, as patterns see it; terms are
    looked up in `lowered` with hyphens as spaces.
    """
    found = []
    if matcher.automaton is not None:
        keyed = _HYPHEN.sub(" ", lowered)
        size = len(keyed)
        for last, (length, word_start, word_end, hits) in matcher.automaton.iter(keyed):
            end = last + 1
            start = end - length
            if (word_start and start and keyed[start - 1].isalnum()) or \
                    (word_end and end < size and keyed[end].isalnum()):
                continue
            for index, cased_key in hits:
                if cased_key is None or cased[start:end].translate(_HYPHEN_TO_SPACE) == cased_key:
                    found.append((index, start, end))
    for case_sensitive, scan, patterns in matcher.pattern_groups:
        # The combined regex finds each position where some pattern matches; every pattern is
        # then tried there, so patterns (even of one lexicon) never hide each other.
        text = cased if case_sensitive else lowered
        position = 0
        while (hit := scan.search(text, position)) is not None:
            start = hit.start()
            for index, regex in patterns:
                match = regex.match(text, start)
                if match is not None and match.end() > start:
                    found.append((index, start, match.end()))
            position = start + 1
    return found


def find_matches(matcher: Matcher, text: str) -> list[tuple[int, int, str, str, str, str]]:
    """Lexicon matches in one text: (start, end, match, term, lexicon, category), by start.

    Within a lexicon matches are leftmost-longest and never overlap; different lexicons may
    match the same words. `text[start:end] == match`.
    """
    cased = fold_text(text, case_sensitive=True, hyphens_as_spaces=False)
    entries = matcher.entries
    ranked = []
    for index, start, end in _candidates(matcher, cased, _lower(cased)):
        entry = entries[index]
        # Exclusions run before overlap resolution: an excluded hit blocks nothing.
        if entry.exclude_before is not None and \
                entry.exclude_before.search(cased, max(0, start - EXCLUSION_WINDOW), start):
            continue
        if entry.exclude_after is not None and \
                entry.exclude_after.match(cased[end:end + EXCLUSION_WINDOW]):
            continue
        ranked.append((entry.rank, start, -end, index))
    ranked.sort()
    matches = []
    rank_now, taken_to = -1, 0
    for rank, start, negative_end, index in ranked:
        if rank != rank_now:
            rank_now, taken_to = rank, 0
        if start < taken_to:
            continue
        taken_to = end = -negative_end
        entry = entries[index]
        matches.append((start, end, text[start:end], entry.term, entry.lexicon, entry.category))
    matches.sort(key=lambda match: (match[0], match[1], match[4]))
    return matches


def _require(table: pd.DataFrame, columns, name: str) -> None:
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {', '.join(missing)}; it needs "
                         f"{', '.join(columns)}")


def match_documents(documents: pd.DataFrame, matcher: Matcher) -> pd.DataFrame:
    """Matches in every document's `clean_text`: doc_id, start, end, match, term, lexicon,
    category (offsets into the clean text)."""
    _require(documents, ("doc_id", "clean_text"), "documents")
    rows = []
    for doc_id, text in zip(documents["doc_id"].tolist(), documents["clean_text"].tolist()):
        if not isinstance(text, str):
            raise TypeError(f"document {doc_id!r}: clean_text is {type(text).__name__}, not text")
        rows.extend((doc_id, *match) for match in find_matches(matcher, text))
    columns = list(zip(*rows)) if rows else [()] * len(MATCH_COLUMNS)
    # Column lists are ~3x faster to frame than records.
    return pd.DataFrame({name: pd.array(values, dtype="int64") if name in ("start", "end") else list(values)
                         for name, values in zip(MATCH_COLUMNS, columns)})


# ---------------------------------------------------------------------------------------------
# VADER sentence scores


@lru_cache(maxsize=8)
def _analyzer(mask: frozenset = frozenset()):
    """One VADER analyzer per process (and per mask): loading its lexicon costs ~50 ms.

    A masked analyzer is a copy whose lexicon lacks the masked words, so they score as neutral
    tokens while every other rule (negation window, boosters, length) sees the same sentence.
    """
    from analysis.vader import Analyzer  # vaderSentiment's analyzer, the same scores with less work

    if not mask:
        return Analyzer()
    masked = copy.copy(_analyzer())
    masked.lexicon = {word: value for word, value in masked.lexicon.items() if word not in mask}
    return masked


def _polarity(texts: list[str], analyzer) -> dict[str, dict]:
    """VADER scores of each distinct text once (syndicated copies repeat whole sentences)."""
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"sentence text {text!r} is {type(text).__name__}, not text")
    return {text: analyzer.polarity_scores(text) for text in dict.fromkeys(texts)}


def score_sentences(sentences: pd.DataFrame) -> pd.DataFrame:
    """VADER (Hutto & Gilbert 2014) polarity of each sentence's original text.

    Columns doc_id, sentence_id, compound, pos, neu, neg; identical texts are scored once.
    """
    _require(sentences, ("doc_id", "sentence_id", "text"), "sentences")
    texts = sentences["text"].tolist()
    scores = _polarity(texts, _analyzer())
    table = {"doc_id": sentences["doc_id"].tolist(),
             "sentence_id": sentences["sentence_id"].tolist()}
    for column in SCORE_COLUMNS[2:]:
        table[column] = [scores[text][column] for text in texts]
    return pd.DataFrame(table)


def score_sentences_masked(sentences: pd.DataFrame, mask_words) -> pd.DataFrame:
    """VADER compound with the topic words in `mask_words` neutralised: doc_id, sentence_id,
    compound_masked.

    The words are removed from VADER's lexicon, not from the text (docs/matching.md says why);
    an empty mask gives the plain compound.
    """
    _require(sentences, ("doc_id", "sentence_id", "text"), "sentences")
    mask = frozenset(word.strip().lower() for word in mask_words)
    spaced = sorted(word for word in mask if not word or any(c.isspace() for c in word))
    if spaced:
        raise ValueError(f"mask words must be single non-empty tokens (VADER scores tokens), got "
                         f"{spaced}")
    texts = sentences["text"].tolist()
    scores = _polarity(texts, _analyzer(mask))
    return pd.DataFrame({"doc_id": sentences["doc_id"].tolist(),
                         "sentence_id": sentences["sentence_id"].tolist(),
                         "compound_masked": [scores[text]["compound"] for text in texts]})


# ---------------------------------------------------------------------------------------------
# Matches in context: sentence, section, voice and raw offsets (the contract's matches table)

MATCHES_COLUMNS = ["doc_id", "sentence_id", "section", "start", "end", "raw_start", "raw_end", "match", "term",
                   "lexicon", "category", "voice", "scare_quote"]
SCARE_LEXICON, SCARE_CATEGORY = "loaded", "scare_quote"


def _sentence_rows(sentences: pd.DataFrame, doc_index: pd.Index, doc_codes: np.ndarray,
                   offsets: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The sentences sorted by (document, start), and for each offset (of the document doc_codes[i]
    of doc_index) the row of the sentence holding it: the last starting at or before it, else the
    document's first."""
    codes = doc_index.get_indexer(sentences["doc_id"]).astype(np.int64)
    order = np.lexsort((sentences["start"].to_numpy(np.int64), codes))
    sents, codes = sentences.iloc[order], codes[order]
    first = np.searchsorted(codes, doc_codes, side="left")
    rows = np.maximum(last_start_at(doc_codes, offsets, codes, sents["start"].to_numpy(np.int64)), first)
    return sents, rows


def scare_quote_matches(documents: pd.DataFrame, spans: pd.DataFrame) -> pd.DataFrame:
    """Scare quotes as matches of category `scare_quote`: the quoted words, marks included."""
    scare = spans[spans["kind"] == "scare"]
    texts = dict(zip(documents["doc_id"], documents["clean_text"]))
    surface = [texts[d][s:e] for d, s, e in zip(scare["doc_id"], scare["start"], scare["end"])]
    return pd.DataFrame({
        "doc_id": scare["doc_id"].tolist(), "start": scare["start"].tolist(), "end": scare["end"].tolist(),
        "match": surface, "term": [fold_text(t.strip("\"“”‘’'").strip(" ,.;:")).lower() for t in surface],
        "lexicon": SCARE_LEXICON, "category": SCARE_CATEGORY})


def annotate_matches(raw_matches: pd.DataFrame, documents: pd.DataFrame, sentences: pd.DataFrame,
                     spans: pd.DataFrame) -> pd.DataFrame:
    """Place each match in its sentence, section and voice, and map it back to raw offsets.

    A match's voice is the voice at its first character (`text.voice_at`); scare_quote is True
    inside a scare quote (the outlet's own voice, set apart).
    """
    if raw_matches.empty:
        return pd.DataFrame({c: [] for c in MATCHES_COLUMNS})
    # Every document of the chunk at once: lookups by (document, offset) keys, one stable sort.
    doc_index = pd.Index(documents["doc_id"])
    doc_codes = doc_index.get_indexer(raw_matches["doc_id"]).astype(np.int64)
    starts, ends = raw_matches["start"].to_numpy(np.int64), raw_matches["end"].to_numpy(np.int64)
    sents, rows = _sentence_rows(sentences, doc_index, doc_codes, starts)
    voice, scare = voices_at(spans, raw_matches["doc_id"].to_numpy(), starts)
    maps = documents["offset_map"].tolist()
    matches = raw_matches.assign(
        sentence_id=sents["sentence_id"].to_numpy()[rows], section=sents["section"].to_numpy()[rows],
        raw_start=to_raw_offsets_many(maps, doc_codes, starts), raw_end=to_raw_offsets_many(maps, doc_codes, ends, end=True),
        voice=voice, scare_quote=scare)
    matches.loc[matches["category"] == SCARE_CATEGORY, "scare_quote"] = True
    return matches[MATCHES_COLUMNS].sort_values(["doc_id", "start", "lexicon", "end"], kind="stable",
                                                ignore_index=True)


MATCH_COUNT_KEYS = ["doc_id", "sentence_id", "lexicon", "category", "term", "voice", "section"]


def match_counts(matches: pd.DataFrame) -> pd.DataFrame:
    """Matches counted per document, sentence, lexicon, category, term, voice and section: the table
    `matches.groupby(MATCH_COUNT_KEYS).size()` gives (sorted by the keys; rows with a missing key
    left out), found by one stable sort of the keys' sorted codes packed into an integer rather
    than by pandas' groupby (at 100,000 articles, 3.2 million matches: half the time)."""
    keys = matches[MATCH_COUNT_KEYS]

    def by_groupby() -> pd.DataFrame:
        return keys.groupby(MATCH_COUNT_KEYS, sort=True).size().rename("count").reset_index()

    if any(isinstance(dtype, pd.CategoricalDtype) for dtype in keys.dtypes):
        return by_groupby()  # categories have groupby's own rules (unobserved ones)
    # Coded as groupby codes its keys; NumPy columns as arrays, so that an object column's values have
    # their type inferred (text becomes the string dtype) as in groupby's result.
    coded = [pd.factorize(keys[key].array if isinstance(keys[key].dtype, pd.api.extensions.ExtensionDtype)
                          else keys[key].to_numpy(), sort=True) for key in MATCH_COUNT_KEYS]
    sizes = np.array([max(len(uniques), 1) for _, uniques in coded], float)
    if np.prod(sizes) >= 2.0 ** 62:
        return by_groupby()  # a packed key would overflow
    rows = np.flatnonzero(np.logical_and.reduce([code >= 0 for code, _ in coded], axis=0, initial=True))
    packed = np.zeros(len(rows), np.int64)
    for (code, _), size in zip(coded, sizes.astype(np.int64)):
        packed *= size
        packed += code[rows]
    order = np.argsort(packed, kind="stable")
    packed = packed[order]
    starts = run_starts(packed)
    first = rows[order[starts]]
    counts = pd.DataFrame({key: pd.Index(uniques).take(code[first]) for key, (code, uniques)
                           in zip(MATCH_COUNT_KEYS, coded)})
    counts["count"] = np.diff(np.append(starts, len(packed))).astype(np.int64)
    return counts


def sentence_voice(word_totals: pd.DataFrame) -> pd.DataFrame:
    """Each sentence's majority voice (ties: own, then quoted, then reported)."""
    order = {"own": 0, "quoted": 1, "reported": 2}
    ranked = word_totals.assign(_order=word_totals["voice"].map(order))
    ranked = ranked.sort_values(["doc_id", "sentence_id", "n_words", "_order"], ascending=[True, True, False, True])
    return ranked.drop_duplicates(["doc_id", "sentence_id"])[["doc_id", "sentence_id", "voice"]]


def sentence_voices(sentences: pd.DataFrame, word_totals: pd.DataFrame) -> pd.Series:
    """The voice of `sentence_voice` for each row of sentences (doc_id, sentence_id), aligned with
    its rows (NA for a sentence without word totals), in word_totals' voice dtype: what a left merge
    of sentences with `sentence_voice(word_totals)` gives, found on integer keys (a document's code,
    looked up once per run of its rows, and the sentence_id) rather than by sorting and merging on
    the doc_ids' text."""
    first = sentences["doc_id"].iloc[run_starts(sentences["doc_id"])]
    code_of = pd.Series(np.arange(len(first)), index=first.to_numpy()).groupby(level=0, sort=False).first()
    s_doc = looked_up_by_runs(sentences["doc_id"], code_of)
    w_doc = looked_up_by_runs(word_totals["doc_id"], code_of, missing=-1)
    s_sid, w_sid = sentences["sentence_id"].to_numpy(np.int64), word_totals["sentence_id"].to_numpy(np.int64)
    span = int(max(s_sid.max(initial=0), w_sid.max(initial=0))) + 1
    s_key, w_key = s_doc * span + s_sid, w_doc * span + w_sid
    usable = np.flatnonzero(w_doc >= 0)
    ordered = usable[_by_sentence_then_majority(w_key[usable], word_totals["n_words"].to_numpy(np.int64)[usable],
                                                _voice_rank(word_totals["voice"].iloc[usable]))]
    keys = w_key[ordered]
    firsts = run_starts(keys)
    best_rows, best_keys = ordered[firsts], keys[firsts]
    rows = np.full(len(s_key), -1)  # -1: no word totals, NA
    if len(best_keys):
        at = np.minimum(np.searchsorted(best_keys, s_key), len(best_keys) - 1)
        rows = np.where(best_keys[at] == s_key, best_rows[at], -1)
    voice = pd.api.extensions.take(word_totals["voice"].array, rows, allow_fill=True)
    return pd.Series(voice, index=sentences.index, name="voice", dtype=word_totals["voice"].dtype)


def _voice_rank(voice: pd.Series) -> np.ndarray:
    """0, 1, 2 for own, quoted, reported (the ties' order), 3 for anything else (NaN sorts last)."""
    order = ["own", "quoted", "reported"]
    if not len(voice):
        return np.zeros(0, np.int64)
    if isinstance(voice.dtype, pd.CategoricalDtype):
        rank = pd.Categorical(voice, categories=order).codes.astype(np.int64)
    else:
        rank = pc.index_in(pa.array(voice, from_pandas=True), value_set=pa.array(order)).fill_null(-1).to_numpy()
    return np.where(rank < 0, 3, rank).astype(np.int64)


def _by_sentence_then_majority(key: np.ndarray, n_words: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Positions ordered by key, then n_words descending, then rank: np.lexsort's order, found as one
    stable sort of an integer that packs the three where it fits in 63 bits (the rows come nearly in
    order, which a stable sort of integers is quick on)."""
    if not len(key):
        return np.zeros(0, np.int64)
    most = int(n_words.max()) - min(int(n_words.min()), 0)
    if int(key.max()) < (1 << 62) // ((most + 1) * 4) and key.min() >= 0:
        return np.argsort((key * (most + 1) + (int(n_words.max()) - n_words)) * 4 + rank, kind="stable")
    return np.lexsort((rank, -n_words, key))


def term_counts(documents: pd.DataFrame, sentences: pd.DataFrame, spans: pd.DataFrame, *,
                words_of: dict | None = None, categorical: bool = False) -> pd.DataFrame:
    """Word (unigram) counts per document, voice and section: the input of distinctive terms. A word
    as a term is lower case, except acronyms ("US" is not "us"), with curly apostrophes made straight.
    `words_of` (doc_id -> `words_with_spans` of its clean text) saves the word pass where a caller
    has made it already. categorical=True gives doc_id, term, voice and section as categories
    (sorted, so they sort as the text does): the same table in about a fifth of the memory, which
    the pipeline holds for the whole corpus (about 300 rows a document)."""
    with_sentences = documents[documents["doc_id"].isin(pd.unique(sentences["doc_id"]))]
    doc_ids, all_words, offsets, counts = [], [], [], []
    for doc_id, text in zip(with_sentences["doc_id"], with_sentences["clean_text"]):
        w_start, _, found = words_of[doc_id] if words_of is not None else words_with_spans(text)
        all_words += found
        offsets.append(w_start)
        counts.append(len(w_start))
        doc_ids.append(doc_id)
    if not all_words:
        return pd.DataFrame({"doc_id": [], "term": [], "voice": [], "section": [], "count": []})
    doc_index = pd.Index(doc_ids)
    doc_codes = np.repeat(np.arange(len(doc_ids), dtype=np.int64), counts)
    offsets = np.concatenate(offsets).astype(np.int64)
    sents, rows = _sentence_rows(sentences, doc_index, doc_codes, offsets)
    voice, _ = voices_at(spans, doc_index.to_numpy()[doc_codes], offsets)
    # Counted on integer codes, each ranked in the keys' sort order (as a sorted group-by would).
    doc_rank, doc_labels = pd.factorize(doc_index.to_numpy(), sort=True)  # the chunk's doc_ids, each once
    # Each distinct word is made a term once (news repeats its vocabulary): codes of words, then of terms.
    word_codes, distinct_words = pd.factorize(np.asarray(all_words, dtype=object))
    # ’ -> ' in a word keeps it one word (both may sit inside a word, neither at its edge)
    straight = [w.replace("’", "'") for w in distinct_words]
    term_codes, term_labels = pd.factorize(np.asarray(
        [w if len(w) > 1 and w.isupper() else w.lower() for w in straight], dtype=object), sort=True)
    keys = [(doc_rank[doc_codes], doc_labels), (term_codes[word_codes], term_labels),
            pd.factorize(voice, sort=True), pd.factorize(sents["section"].to_numpy()[rows], sort=True)]
    codes = [np.asarray(c, dtype=np.int64) for c, _ in keys]
    sizes = [len(labels) for _, labels in keys]
    combined = np.ravel_multi_index(codes, sizes)
    cells, count = np.unique(combined, return_counts=True)
    d, t, v, s = np.unravel_index(cells, sizes)
    column = categories_at if categorical else labels_at
    return pd.DataFrame({"doc_id": column(doc_labels, d), "term": column(keys[1][1], t),
                         "voice": column(keys[2][1], v), "section": column(keys[3][1], s),
                         "count": count.astype(np.int64)})


def context_window(text: str, start: int, end: int, width: int) -> tuple[str, str]:
    """Up to `width` characters each side of text[start:end], cut back to whole words."""
    left = text[max(0, start - width):start]
    if start - width > 0 and not text[start - width - 1].isspace():
        left = left[next((i for i, ch in enumerate(left) if ch.isspace()), len(left)):]
    right = text[end:end + width]
    if end + width < len(text) and not text[end + width].isspace():
        cut = max((i for i, ch in enumerate(right) if ch.isspace()), default=0)
        right = right[:cut]
    return left, right


def keyword_in_context(matches: pd.DataFrame, sentences: pd.DataFrame, *, width: int = 60) -> pd.DataFrame:
    """Keyword in context for matches: the matches' columns plus left, keyword, right (up to `width`
    characters of the same sentence each side, whole words) and the whole sentence.

    Matches need doc_id, sentence_id, start, end; sentences need doc_id, sentence_id, start, text.
    """
    placed = matches.merge(sentences[["doc_id", "sentence_id", "start", "text"]].rename(
        columns={"start": "sentence_start", "text": "sentence"}), on=["doc_id", "sentence_id"], how="left")
    if placed["sentence"].isna().any():
        missing = placed.loc[placed["sentence"].isna(), ["doc_id", "sentence_id"]].head(3).to_dict("records")
        raise ValueError(f"matches point at sentences that are not in the sentences table, e.g. {missing}")
    a = (placed["start"] - placed["sentence_start"]).to_numpy()
    b = (placed["end"] - placed["sentence_start"]).to_numpy()
    texts = placed["sentence"].tolist()
    windows = [context_window(t, i, j, width) for t, i, j in zip(texts, a, b)]
    placed["left"] = [left for left, _ in windows]
    placed["keyword"] = [t[i:j] for t, i, j in zip(texts, a, b)]
    placed["right"] = [right for _, right in windows]
    return placed.drop(columns=["sentence_start"])
