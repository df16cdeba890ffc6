"""Words, sentences and voice spans: the text step of the flow.

Every word of a document's clean text is in exactly one voice: `own`, `quoted` (inside quotation
marks attributed to a speaker or a cited report) or `reported` (indirect speech, "X claimed that
..."). A scare quote is own voice with `scare_quote=True`. The rules and their reasons are in
docs/text-model.md; their word lists are data (`data/abbreviations.csv`, `data/speech_verbs.csv`).
"""

from __future__ import annotations

import csv
import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from analysis.provenance import DATA_DIR

SECTIONS = ("headline", "deck", "body", "caption", "added")
VOICES = ("own", "quoted", "reported")
SPAN_KINDS = ("speech", "scare", "reported")
SENTENCE_COLUMNS = ["doc_id", "sentence_id", "section", "start", "end", "text", "n_words",
                    "share_quoted", "share_reported"]
SPAN_COLUMNS = ["doc_id", "span_id", "sentence_id", "start", "end", "kind", "speaker"]
WORD_VOICE_COLUMNS = ["doc_id", "sentence_id", "section", "voice", "n_words"]

LONG_QUOTE_WORDS = 5  # a quotation this long is someone's speech even with no verb near it
MAX_GAP_WORDS = 6  # words allowed between a reporting verb and its "that" / "of"
MAX_SPEAKER_WORDS = 8

# ---------------------------------------------------------------------------------------------
# Words

WORD_RE = re.compile(r"[^\W_]++(?:['’.\-‐][^\W_]++)*+(?:(?<=\.[^\W\d_])\.)?")
_WORD_SPLIT_RE = re.compile(f"({WORD_RE.pattern})")


def words(text: str) -> list[str]:
    """The project's one word definition, used by every count and rate.

    A word is a run of letters or digits; apostrophes (' ’), hyphens and periods between two such
    runs stay inside it ("don’t", "coup-plotters", "3.5"), and a word ending in period + letter keeps
    a final period (dotted abbreviations: "U.S.", "H.R.", "Ph.D."). Punctuation and symbols are not
    words ("#Venezuela" -> "Venezuela", "&" -> nothing).
    """
    return WORD_RE.findall(text)


def word_spans(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Start and end offsets (int64 arrays) of the words of `text`, as `words` finds them."""
    starts, ends, _ = words_with_spans(text)
    return starts, ends


def words_with_spans(text: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """`word_spans` and `words` of `text` from one pass."""
    parts = _WORD_SPLIT_RE.split(text)  # gap, word, gap, word, ..., gap: offsets are cumulative lengths
    lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
    ends = np.cumsum(lengths)[1::2]
    return ends - lengths[1::2], ends, parts[1::2]


def count_words(text: str) -> int:
    """Number of words of `text` (`len(words(text))`)."""
    return len(WORD_RE.findall(text))


# ---------------------------------------------------------------------------------------------
# Sentences

@dataclass(frozen=True)
class _Abbreviations:
    never_final: frozenset  # titles, months, other: a period after them does not end a sentence
    starters: frozenset  # after a dotted initialism ("U.S."), these words start a new sentence


@lru_cache(maxsize=1)
def _abbreviations() -> _Abbreviations:
    with open(DATA_DIR / "abbreviations.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return _Abbreviations(frozenset(r["token"] for r in rows if r["kind"] != "starter"),
                          frozenset(r["token"] for r in rows if r["kind"] == "starter"))


# A candidate end: terminal punctuation, closing quotes or brackets, whitespace, then (after any
# opening quotes or brackets) the next word, captured for the checks in `_ends_sentence`.
_CANDIDATE_RE = re.compile(r"(?P<stop>[.!?…]+)[\"'”’)\]]*(?=\s+[\"'“‘(\[]*(?P<next>[^\W_]+))")
_INITIALISM_RE = re.compile(r"(?:[^\W\d_]\.)+[^\W\d_]")


def _ends_sentence(paragraph: str, m: re.Match, abbr: _Abbreviations) -> bool:
    nxt = m["next"]
    if not (nxt[0].isupper() or nxt[0].isdigit()):
        return False  # "He said ... and left.", "“Why?” he asked."
    if m["stop"] != ".":
        return True
    before = paragraph[max(0, m.start() - 40):m.start()].rsplit(None, 1)
    token = before[-1].lstrip("\"'“‘([") if before else ""
    if token in abbr.never_final or (len(token) == 1 and token.isupper()):
        return False  # "Mr. Maduro", "Feb. 1", "Rex W. Tillerson"
    if _INITIALISM_RE.fullmatch(token):
        return nxt in abbr.starters  # "U.S. officials" vs "... to the U.S. The next ..."
    return True


def split_sentences(paragraph: str) -> list[tuple[int, int]]:
    """Sentence (start, end) offsets within one paragraph, stripped of surrounding whitespace.

    A sentence ends at . ! ? or an ellipsis (with any closing quotes or brackets) followed by
    whitespace and a capitalised word or a digit, except after an abbreviation from
    `data/abbreviations.csv`, a single capital initial, or a dotted initialism not followed by a
    sentence opener.
    """
    abbr = _abbreviations()
    cuts = [m.end() for m in _CANDIDATE_RE.finditer(paragraph) if _ends_sentence(paragraph, m, abbr)]
    out, a = [], 0
    for b in [*cuts, len(paragraph)]:
        piece = paragraph[a:b]
        stripped = piece.strip()
        if stripped:
            start = a + len(piece) - len(piece.lstrip())
            out.append((start, start + len(stripped)))
        a = b
    return out


# ---------------------------------------------------------------------------------------------
# Quotation marks

_QUOTE_MARK_RE = re.compile("[\"“”'‘’]")


def quote_spans(paragraph: str) -> list[tuple[int, int]]:
    """Quotations in one paragraph as (start, end), marks included, ordered and not overlapping.

    Double quotes (“…”, straight "…" paired by position) come first; a double quote left open runs
    to the paragraph end (the news convention for a quote continued in the next paragraph).
    Single quotes count only outside double ones (‘…’ nested inside “…” is part of it); a ’ or '
    between letters, or after a letter with no ‘ open, is an apostrophe (don’t, rebels’, Times').
    """
    n = len(paragraph)
    marks = [(m.start(), m.group()) for m in _QUOTE_MARK_RE.finditer(paragraph)]
    doubles, open_at = [], None
    for i, c in marks:
        if c == "“" or (c == '"' and open_at is None):
            if open_at is not None:
                doubles.append((open_at, i))  # reopened before closing: the first runs to here
            open_at = i
        elif c in '”"' and open_at is not None:
            doubles.append((open_at, i + 1))
            open_at = None
    if open_at is not None:
        doubles.append((open_at, n))
    singles, open_at = [], None
    for i, c in marks:
        if c not in "'‘’" or any(s <= i < e for s, e in doubles):
            continue
        before = paragraph[i - 1] if i else " "
        after = paragraph[i + 1] if i + 1 < n else " "
        if c == "‘" or (c == "'" and not before.isalnum() and after.isalnum()):
            open_at = i
        elif open_at is not None and not after.isalnum() and not before.isspace():
            singles.append((open_at, i + 1))
            open_at = None
    kept: list[tuple[int, int]] = []
    for s, e in sorted(doubles + singles, key=lambda span: (span[0], -span[1])):
        if (not kept or s >= kept[-1][1]) and WORD_RE.search(paragraph, s, e):
            kept.append((s, s + len(paragraph[s:e].rstrip())))  # an outer quote keeps what it holds
    return kept


# ---------------------------------------------------------------------------------------------
# Attribution cues

@dataclass(frozen=True)
class _Cues:
    term_re: re.Pattern  # every term of the file, one scan per paragraph
    kind: dict  # term -> verb | noun | phrase | clause_only | idiom
    clause_of: dict  # verb -> the word that opens its reported clause ("that" or "of")
    speaker_after: frozenset  # "..., said X": the words after these name the speaker
    object_verbs: frozenset  # "told the officers that": an object may stand before "that"
    nouns: frozenset  # cue nouns ("statement"): they name a speaker only as "X's statement"
    blockers: frozenset  # "so that", "the fact that": not a reported clause
    source_noun_re: re.Pattern  # NAME('s) article/account/report/...: another outlet's report


def _alternation(terms) -> str:
    """A regex matching any of `terms` (lower case or capitalised), as a trie: Python's re tries the
    branches of a flat alternation one by one at every position, a trie only along one path."""
    trie: dict = {}
    for term in {v for t in terms for v in (t, t[:1].upper() + t[1:])}:
        node = trie
        for ch in term:
            node = node.setdefault(ch, {})
        node[""] = {}

    def pattern(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(ch) + pattern(sub) for ch, sub in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return pattern(trie)


@lru_cache(maxsize=1)
def _cues() -> _Cues:
    with open(DATA_DIR / "speech_verbs.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))

    def terms(*kinds, clause=None):
        return [r["term"] for r in rows if r["kind"] in kinds and (clause is None or r["clause"] == clause)]

    scanned = ("verb", "noun", "phrase", "clause_only", "idiom")
    return _Cues(
        term_re=re.compile(rf"\b(?:{_alternation(terms(*scanned))})\b"),
        kind={r["term"]: r["kind"] for r in rows if r["kind"] in scanned},
        clause_of={r["term"]: r["clause"] for r in rows if r["clause"]},
        speaker_after=frozenset(r["term"] for r in rows if r["speaker_after"] == "yes"),
        object_verbs=frozenset(r["term"] for r in rows if r["takes_object"] == "yes"),
        nouns=frozenset(terms("noun")),
        blockers=frozenset(terms("blocker")),
        source_noun_re=re.compile(rf"\s(?:{_alternation(terms('source_noun'))})s?\b"),
    )


_DETERMINERS = {"The", "A", "An", "Another", "This", "That", "Its", "His", "Her", "Their"}
_LEADING = {"that", "and", "but", "then", "so", "who", "as", "while", "which", "when", "also", "even",
            "however", "by"}
_AUXILIARIES = {"has", "have", "had", "is", "was", "were", "are", "been", "would", "will", "could", "can",
                "did", "does", "do", "should", "may", "might", "must"}
_SUBORDINATORS = {"after", "before", "when", "while", "because", "since", "if", "although", "though",
                  "until", "where", "whereas", "who", "which", "that", "whom"}
_GAP_DETERMINERS = {"a", "an", "the", "this", "these", "those", "some", "several", "many", "his", "her",
                    "their", "its", "our", "my"}
_TRAILING = {"also", "then", "not", "later", "long", "first", "who", "which", "that", "once", "again"}
_PRONOUNS = {"he", "she", "they", "it", "we", "i", "you", "who", "which", "this", "that", "one"}
_LAST_BOUNDARY_RE = re.compile(r"(?s:.*)[,;:()—–\0“”\"]")
_PASSIVE_BY_RE = re.compile(r"\s+by\s+((?:the\s+)?[A-Z][\w.’'-]*(?:\s+[A-Z][\w.’'-]*)*)")
_AFTER_STOP_RE = re.compile(r"[,;:()—–\0“”\"]|\s(?:who|which|that|when|because|as|in|to|on)\s")


def _source_name(phrase: str) -> str:
    """'the Times' for "the Times' account", "another Times source", "A Washington Post article"."""
    for m in _cues().source_noun_re.finditer(phrase):
        before = phrase[:m.start()].split()
        if before:
            before[-1] = re.sub(r"['’]s?$", "", before[-1])
        name = []
        while before and before[-1][:1].isupper():
            name.insert(0, before.pop())
        while name and name[0] in _DETERMINERS:
            name = name[1:]
        if name:
            return "the " + " ".join(name)
    return ""


def _trim_tail(toks: list[str]) -> list[str]:
    while toks and (toks[-1].lower() in _TRAILING or (toks[-1].endswith("ly") and toks[-1].islower())):
        toks = toks[:-1]
    return toks


def _tidy_speaker(phrase: str) -> str:
    """A speaker name from the words next to a cue: trimmed of joins, auxiliaries and adverbs."""
    toks = phrase.replace("\0", " ").strip(" .,'’").split()
    while toks and toks[0].lower() in _LEADING:
        toks = toks[1:]
    toks = _trim_tail(toks)  # "officials who" -> "officials"
    subordinate = [i for i, t in enumerate(toks) if t.lower() in _SUBORDINATORS]
    toks = toks[subordinate[-1] + 1:] if subordinate else toks  # "... after he said": "he"
    aux = [i for i, t in enumerate(toks) if i and t.lower() in _AUXILIARIES]
    toks = _trim_tail(toks[:aux[0]] if aux else toks)  # the subject ends where its verb group starts
    if not toks or " ".join(toks).lower() in _PRONOUNS:
        return ""
    if len(toks) > MAX_SPEAKER_WORDS:  # keep a name at the end ("... spokesman Garrett Marquis")
        tail = []
        while toks and toks[-1][:1].isupper():
            tail.insert(0, toks.pop())
        toks = tail
    phrase = " ".join(toks)
    return _source_name(phrase) or phrase


def _speaker(masked: str, lo: int, hi: int, cue: tuple[int, int], others: list[tuple[int, int]]) -> str:
    """Who a cue names: "X said" / "said X" / "according to X" / "accused by X", within [lo, hi)."""
    c0, c1 = cue
    boundary = _LAST_BOUNDARY_RE.match(masked, lo, c0)
    left = max([boundary.end() if boundary else lo] + [e for s, e in others if e <= c0])
    word = masked[c0:c1].lower()
    if word in _cues().nouns:  # "the White House's statement"
        owner = masked[left:c0].split()
        return _tidy_speaker(" ".join(owner)[:-2]) if owner and owner[-1][-2:] in {"'s", "’s"} else ""
    passive = _PASSIVE_BY_RE.match(masked, c1, hi)
    if passive and word.endswith("ed"):
        return _tidy_speaker(passive[1])
    before = masked[left:c0]
    if WORD_RE.search(before) or word.endswith("ing"):  # a subject stands before the verb
        return _tidy_speaker(before)
    after = _AFTER_STOP_RE.split(masked[c1:hi] + " ", maxsplit=1)[0].strip()
    if word in _cues().speaker_after and (after[:1].isupper() or word == "according to"
                                           or after.split(" ", 1)[0] in {"the", "a", "an"}):
        return _tidy_speaker(after)
    return ""


# ---------------------------------------------------------------------------------------------
# Voice spans of one paragraph

# after a reporting verb: up to MAX_GAP_WORDS words ("told the New York Times"), then "that" or "of"
_CLAUSE_RE = re.compile(rf"(?P<gap>(?:\s+[^\s\0,;:!?—–()]+){{0,{MAX_GAP_WORDS}}}?)\s+(?P<conj>that|of)\s+(?=[^\W_])")
_CLAUSE_END_RE = re.compile(r"[;:—–(]|\s--\s|,\s+(?:and|but|or|yet|while|whereas|although|though)\s+"
                            r"(?!of\b|that\b)")


def _mask(paragraph: str, spans: list[tuple[int, int]]) -> str:
    """The paragraph with quotations blanked by NUL, so cues and clauses are sought outside them."""
    pieces, a = [], 0
    for s, e in spans:
        pieces += [paragraph[a:s], "\0" * (e - s)]
        a = e
    return "".join(pieces) + paragraph[a:]


def _cited_source(masked: str, lo: int, hi: int, cue_spans: list[tuple[int, int]]) -> str:
    """The outlet or source a sentence cites: "according to X" or "NAME's article/account/...", else ''."""
    for cue in cue_spans:
        if masked[cue[0]:cue[1]].lower() == "according to":
            name = _speaker(masked, lo, hi, cue, [])
            if name:
                return name
    return _source_name(masked[lo:hi].replace("\0", " "))


def paragraph_spans(paragraph: str, sentences: list[tuple[int, int]]) -> list[tuple[int, int, str, str]]:
    """Voice spans (start, end, kind, speaker) of one paragraph, ordered and not overlapping.

    A quotation is `speech` when a cue (reporting verb, "statement", "according to") is in its
    sentence(s), a colon introduces it, it has LONG_QUOTE_WORDS words or more, or its sentence or a
    neighbouring one cites another outlet's report; otherwise it is `scare`. `reported` spans are
    the clauses after "VERB ... that" / "accuse ... of", up to a clause boundary, minus quotations.
    """
    cues = _cues()
    quotes = quote_spans(paragraph)
    masked = _mask(paragraph, quotes)
    found = [(m.span(), m[0].lower()) for m in cues.term_re.finditer(masked)]
    all_cues = [span for span, term in found if cues.kind[term] in ("verb", "noun", "phrase")]
    clauses = [(span, term, c) for span, term in found
               if (c := _CLAUSE_RE.match(masked, span[1])) and cues.clause_of.get(term) == c["conj"]]
    if not quotes and not clauses:
        return []
    starts = [s for s, _ in sentences]

    def sentence_of(pos: int) -> int:
        return max(bisect_right(starts, pos) - 1, 0)

    cue_spans: list[list] = [[] for _ in sentences]
    for c in all_cues:
        cue_spans[sentence_of(c[0])].append(c)
    sources: dict[int, str] = {}  # only for sentences next to a quotation: most hold none
    for j in range(len(sentences)):
        if any(q0 < sentences[min(j + 1, len(sentences) - 1)][1] and sentences[max(j - 1, 0)][0] < q1
               for q0, q1 in quotes):
            sources[j] = _cited_source(masked, *sentences[j], cue_spans[j])

    out, last_speaker = [], ""
    for q0, q1 in quotes:
        j0, j1 = sentence_of(q0), sentence_of(q1 - 1)
        lo, hi = sentences[j0][0], sentences[j1][1]
        near = sorted((c for j in range(j0, j1 + 1) for c in cue_spans[j]),
                      key=lambda c: q0 - c[1] if c[1] <= q0 else max(c[0] - q1, 0))
        window = [sources[j] for j in range(max(j0 - 1, 0), min(j1 + 2, len(sentences))) if sources[j]]
        own_sources = [sources[j] for j in range(j0, j1 + 1) if sources[j]]
        if near or masked[:q0].rstrip().endswith(":"):
            kind = "speech"
            speaker = next((s for c in near if (s := _speaker(masked, lo, hi, c, near))), "")
        elif count_words(paragraph[q0:q1]) >= LONG_QUOTE_WORDS:
            kind, speaker = "speech", (own_sources or [last_speaker])[0]
        elif window:
            kind, speaker = "speech", window[0]
        else:
            kind, speaker = "scare", ""
        out.append((q0, q1, kind, speaker))
        if kind == "speech":
            last_speaker = speaker

    covered = 0
    for verb, term, m in clauses:  # indirect speech: the clause after "VERB ... that" / "accuse ... of"
        j = sentence_of(verb[0])
        lo, hi = sentences[j]
        gap = m["gap"].lower().split()
        if verb[0] < covered or m.end() > hi or (gap and (
                gap[-1] in cues.blockers or (gap[0] in _GAP_DETERMINERS and term not in cues.object_verbs))):
            continue  # "so that"; "wrote a series of posts that ...": a relative clause
        stop = _CLAUSE_END_RE.search(masked, m.end(), hi)
        end = stop.start() if stop else hi
        speaker = _speaker(masked, lo, hi, verb, cue_spans[j])
        a = m.end()
        for s, e in [*(q for q in quotes if m.end() < q[1] and q[0] < end), (end, end)]:
            piece = paragraph[a:min(s, end)]
            if WORD_RE.search(piece):
                out.append((a + len(piece) - len(piece.lstrip()), a + len(piece.rstrip()), "reported", speaker))
            a = max(a, e)
        covered = end
    return sorted(out)


# ---------------------------------------------------------------------------------------------
# Tables

# Span kinds as small integers inside the vectorised steps: 0 = no span (own voice).
_KIND_CODE = {kind: code for code, kind in enumerate(SPAN_KINDS, start=1)}
_VOICE_OF_CODE = np.array(["own", "quoted", "own", "reported"], dtype=object)


def _kind_codes(starts: np.ndarray, ends: np.ndarray, codes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The kind code of the span holding each offset (0 when none); spans sorted and not overlapping."""
    offsets = np.asarray(offsets, dtype=np.int64)
    if len(starts) == 0:
        return np.zeros(offsets.shape, dtype=np.int8)
    idx = np.searchsorted(starts, offsets, side="right") - 1
    safe = np.clip(idx, 0, None)
    return np.where((idx >= 0) & (offsets < ends[safe]), codes[safe], 0).astype(np.int8)


def _word_sentences(s_start: np.ndarray, s_end: np.ndarray, w_start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For word starts: the index of the sentence holding each, and which words lie in a sentence."""
    if len(s_start) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(len(w_start), dtype=bool)
    idx = np.searchsorted(s_start, w_start, side="right") - 1
    keep = (idx >= 0) & (w_start < s_end[np.clip(idx, 0, None)])
    return idx[keep], keep


def voice_at(spans_of_doc: pd.DataFrame, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Voice ('own' | 'quoted' | 'reported') and scare-quote flag at character offsets of one document.

    Speech spans are quoted, reported spans reported, scare spans own with scare_quote True, and
    everything else own.
    """
    spans = spans_of_doc.sort_values("start")
    codes = _kind_codes(spans["start"].to_numpy(np.int64), spans["end"].to_numpy(np.int64),
                        spans["kind"].map(_KIND_CODE).to_numpy(np.int8), offsets)
    return _VOICE_OF_CODE[codes], codes == _KIND_CODE["scare"]


def last_start_at(item_docs: np.ndarray, offsets: np.ndarray, row_docs: np.ndarray, row_starts: np.ndarray) -> np.ndarray:
    """For items (document code, offset) of many documents at once: the last row of a table sorted by
    (document code, start) whose document is the item's and whose start is at or before the offset,
    or -1. One searchsorted over (document, offset) keys instead of a loop over documents."""
    offsets = np.asarray(offsets, dtype=np.int64)
    width = int(max(offsets.max(initial=0), np.max(row_starts, initial=0))) + 2
    idx = np.searchsorted(row_docs * width + row_starts, item_docs * width + offsets, side="right") - 1
    safe = np.clip(idx, 0, None)
    same = (idx >= 0) & (row_docs[safe] == item_docs) if len(row_docs) else np.zeros(len(idx), bool)
    return np.where(same, idx, -1)


def voices_at(spans: pd.DataFrame, doc_ids, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`voice_at` for offsets of many documents at once (doc_ids[i] is the document of offsets[i])."""
    if not isinstance(doc_ids, (np.ndarray, pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        doc_ids = np.asarray(doc_ids, dtype=object)
    item_docs, uniques = pd.factorize(doc_ids)  # codes in order of first appearance
    index = pd.Index(uniques)
    item_docs = item_docs.astype(np.int64)
    span_docs = index.get_indexer(spans["doc_id"]).astype(np.int64)
    keep = span_docs >= 0
    order = np.lexsort((spans["start"].to_numpy(np.int64)[keep], span_docs[keep]))
    starts = spans["start"].to_numpy(np.int64)[keep][order]
    ends = spans["end"].to_numpy(np.int64)[keep][order]
    kinds = spans["kind"].map(_KIND_CODE).to_numpy(np.int8)[keep][order]
    offsets = np.asarray(offsets, dtype=np.int64)
    codes = np.zeros(len(offsets), dtype=np.int8)
    if len(starts):
        idx = last_start_at(item_docs, offsets, span_docs[keep][order], starts)
        safe = np.clip(idx, 0, None)
        codes = np.where((idx >= 0) & (offsets < ends[safe]), kinds[safe], 0).astype(np.int8)
    return _VOICE_OF_CODE[codes], codes == _KIND_CODE["scare"]


def _check_columns(table: pd.DataFrame, name: str, needed: list[str]) -> None:
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {list(table.columns)}")


def _paragraph_index(documents: pd.DataFrame, paragraphs: pd.DataFrame | None) -> dict:
    """doc_id -> [(section, start, end)]; without a paragraphs table each line is a body paragraph."""
    if paragraphs is None:
        index = {}
        for doc_id, text in zip(documents["doc_id"], documents["clean_text"]):
            a, rows = 0, []
            for line in text.split("\n"):
                rows.append(("body", a, a + len(line)))
                a += len(line) + 1
            index[doc_id] = rows
        return index
    _check_columns(paragraphs, "paragraphs", ["doc_id", "section", "start", "end"])
    bad = sorted(set(paragraphs["section"]) - set(SECTIONS))
    if bad:
        raise ValueError(f"paragraph section(s) {bad} are not one of {list(SECTIONS)}")
    ordered = paragraphs.sort_values(["doc_id", "start"], kind="stable")
    index: dict = {}
    for doc_id, section, start, end in zip(*(ordered[c].tolist() for c in ("doc_id", "section", "start", "end"))):
        index.setdefault(doc_id, []).append((section, int(start), int(end)))
    return index


def build_text_tables(documents: pd.DataFrame,
                      paragraphs: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sentences and voice spans of every document (the contract's `sentences` and `spans` tables).

    `documents` needs doc_id and clean_text; `paragraphs` (doc_id, section, start, end offsets into
    clean_text) gives sections; without it each line of clean_text is a body paragraph.
    """
    _check_columns(documents, "documents", ["doc_id", "clean_text"])
    index = _paragraph_index(documents, paragraphs)
    sentence_rows, span_rows, counts = [], [], []
    for doc_id, text in zip(documents["doc_id"].tolist(), documents["clean_text"].tolist()):
        sents, spans = [], []
        for section, p0, p1 in index.get(doc_id, []):
            para = text[p0:p1]
            local = split_sentences(para)
            sents += [(doc_id, section, p0 + s, p0 + e) for s, e in local]
            spans += [(doc_id, p0 + s, p0 + e, k, who) for s, e, k, who in paragraph_spans(para, local)]
        s_start = np.array([s[2] for s in sents], dtype=np.int64)
        s_end = np.array([s[3] for s in sents], dtype=np.int64)
        w_start, _ = word_spans(text)
        w_sent, keep = _word_sentences(s_start, s_end, w_start)
        codes = _kind_codes(np.array([s[1] for s in spans], dtype=np.int64),
                            np.array([s[2] for s in spans], dtype=np.int64),
                            np.array([_KIND_CODE[s[3]] for s in spans], dtype=np.int8), w_start[keep])
        counts.append(np.stack([np.bincount(w_sent[codes == c], minlength=len(sents)) if c >= 0 else
                                np.bincount(w_sent, minlength=len(sents))
                                for c in (-1, _KIND_CODE["speech"], _KIND_CODE["reported"])], axis=1))
        sentence_rows += [(*s, i, text[s[2]:s[3]]) for i, s in enumerate(sents)]
        first = np.searchsorted(s_start, [s[1] for s in spans], side="right") - 1
        span_rows += [(s[0], i, int(j), *s[1:]) for i, (s, j) in enumerate(zip(spans, np.clip(first, 0, None)))]
    n = np.concatenate(counts) if counts else np.zeros((0, 3), dtype=np.int64)
    doc_ids, sections, starts, ends, ids, texts = zip(*sentence_rows) if sentence_rows else [()] * 6
    sentences = pd.DataFrame({
        "doc_id": list(doc_ids), "sentence_id": np.array(ids, dtype=np.int64), "section": list(sections),
        "start": np.array(starts, dtype=np.int64), "end": np.array(ends, dtype=np.int64), "text": list(texts),
        "n_words": n[:, 0].astype(np.int64),
        "share_quoted": n[:, 1] / np.maximum(n[:, 0], 1),  # a sentence with no words has shares 0
        "share_reported": n[:, 2] / np.maximum(n[:, 0], 1)}, columns=SENTENCE_COLUMNS)
    doc_ids, span_ids, sentence_ids, starts, ends, kinds, speakers = zip(*span_rows) if span_rows else [()] * 7
    spans = pd.DataFrame({
        "doc_id": list(doc_ids), "span_id": np.array(span_ids, dtype=np.int64),
        "sentence_id": np.array(sentence_ids, dtype=np.int64), "start": np.array(starts, dtype=np.int64),
        "end": np.array(ends, dtype=np.int64), "kind": list(kinds), "speaker": list(speakers)}, columns=SPAN_COLUMNS)
    return sentences, spans


def word_voice_totals(documents: pd.DataFrame, sentences: pd.DataFrame, spans: pd.DataFrame, *,
                      words_of: dict | None = None) -> pd.DataFrame:
    """Words per document, sentence, section and voice (rows with at least one word).

    Every word of every sentence is counted in exactly one voice, so the counts of a sentence sum
    to its n_words: the denominators of per-voice rates. `words_of` (doc_id -> `words_with_spans`
    of its clean text) saves the word pass where a caller has made it already.
    """
    _check_columns(documents, "documents", ["doc_id", "clean_text"])
    _check_columns(sentences, "sentences", ["doc_id", "sentence_id", "section", "start", "end"])
    _check_columns(spans, "spans", ["doc_id", "start", "end", "kind"])
    texts = dict(zip(documents["doc_id"].tolist(), documents["clean_text"].tolist()))
    spans = spans.sort_values(["doc_id", "start"], kind="stable")
    span_rows = spans.groupby("doc_id", sort=False).indices
    sp_start, sp_end = spans["start"].to_numpy(np.int64), spans["end"].to_numpy(np.int64)
    sp_code = spans["kind"].map(_KIND_CODE).to_numpy(np.int8)
    sentences = sentences.sort_values(["doc_id", "start"], kind="stable")
    s_start, s_end = sentences["start"].to_numpy(np.int64), sentences["end"].to_numpy(np.int64)
    voice_of_kind = np.array([0, 1, 0, 2])  # own, quoted, own (scare), reported -> VOICES index
    picks, n_words = [], []
    for doc_id, rows in sentences.groupby("doc_id", sort=False).indices.items():
        w_start = words_of[doc_id][0] if words_of is not None else word_spans(texts[doc_id])[0]
        idx, keep = _word_sentences(s_start[rows], s_end[rows], w_start)
        sp = span_rows.get(doc_id, np.zeros(0, dtype=np.int64))
        codes = _kind_codes(sp_start[sp], sp_end[sp], sp_code[sp], w_start[keep])
        cells = np.bincount(idx * 3 + voice_of_kind[codes], minlength=3 * len(rows)).reshape(-1, 3)
        sentence_pos, voice = np.nonzero(cells)
        picks.append(np.column_stack([rows[sentence_pos], voice]))
        n_words.append(cells[sentence_pos, voice])
    pick = np.concatenate(picks) if picks else np.zeros((0, 2), dtype=np.int64)
    out = sentences.iloc[pick[:, 0]][["doc_id", "sentence_id", "section"]].reset_index(drop=True)
    out["voice"] = np.array(VOICES, dtype=object)[pick[:, 1]]
    out["n_words"] = np.concatenate(n_words).astype(np.int64) if n_words else np.zeros(0, dtype=np.int64)
    return out[WORD_VOICE_COLUMNS]
