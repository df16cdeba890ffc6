"""Corpus: read raw captures or an article table into documents with clean text.

Cleaning is line based and driven by `data/boilerplate_rules.csv`; every line a rule touches is a
row of the cleaning report, and every file or row left out is a row of the exclusions table.
Clean text keeps a map back to raw character offsets. Near-duplicates (syndicated copies) are
found with MinHash LSH and checked exactly.
"""

from __future__ import annotations

import copy
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.provenance import DATA_DIR, corpus_hash, sha256_bytes

REQUIRED_MANIFEST_COLUMNS = ("doc_id", "file", "outlet")
MANIFEST_COLUMNS = (
    "doc_id", "file", "outlet", "outlet_group", "original_outlet", "author", "headline",
    "published", "page_date", "date_basis", "url", "notes",
)
DOCUMENT_COLUMNS = [
    "doc_id", "outlet", "outlet_group", "original_outlet", "author", "headline", "published",
    "page_date", "date_basis", "url", "source_file", "notes", "n_words", "n_sentences",
    "duplicate_of", "duplicate_similarity", "content_sha256",
]
PARAGRAPH_COLUMNS = ["doc_id", "paragraph_id", "section", "start", "end"]
REPORT_COLUMNS = ["source_file", "doc_id", "line_no", "raw_line", "rule_id", "action"]
EXCLUSION_COLUMNS = ["source_file", "doc_id", "row", "reason", "action"]
SECTIONS = ("headline", "deck", "body", "caption", "added")
RULE_COLUMNS = ("rule_id", "applies_to", "where", "pattern", "action", "target")
DEFAULT_RULES = DATA_DIR / "boilerplate_rules.csv"
DEFAULT_OUTLET_GROUPS = DATA_DIR / "outlet_groups.csv"

SENTENCE_END = tuple(".?!\"”’:;…)]")
DUPLICATE_THRESHOLD = 0.8
SHINGLE_WORDS = 5
MINHASH_PERMUTATIONS = 64
_WORD_RE = re.compile(r"\w+")


class CorpusError(ValueError):
    """Bad corpus input; the message names the file, row or column and how to fix it."""


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    rule_id: str
    applies_to: str  # line | prefix | inline
    where: str  # any | first_body
    regex: re.Pattern
    action: str  # removed | to_metadata | to_section
    target: str


def load_rules(path: str | Path | None = None) -> list[Rule]:
    """Read boilerplate rules (CSV, one rule a row, first match wins) and compile them."""
    path = Path(path or DEFAULT_RULES)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in RULE_COLUMNS if c not in table.columns]
    if missing:
        raise CorpusError(f"{path}: rules file lacks column(s) {missing}; expected {list(RULE_COLUMNS)}")
    rules = []
    for row_no, row in enumerate(table.itertuples(index=False), start=2):
        if row.applies_to not in {"line", "prefix", "inline"}:
            raise CorpusError(f"{path} line {row_no}: applies_to {row.applies_to!r} is not one of line, prefix, inline")
        if row.action not in {"removed", "to_metadata", "to_section"}:
            raise CorpusError(f"{path} line {row_no}: action {row.action!r} is not one of removed, to_metadata, to_section")
        if row.action == "to_section" and row.target not in SECTIONS:
            raise CorpusError(f"{path} line {row_no}: section {row.target!r} is not one of {list(SECTIONS)}")
        try:
            regex = re.compile(row.pattern)
        except re.error as exc:
            raise CorpusError(f"{path} line {row_no}: pattern of rule {row.rule_id!r} does not compile: {exc}") from exc
        rules.append(Rule(row.rule_id, row.applies_to, row.where or "any", regex, row.action, row.target))
    return rules


# --------------------------------------------------------------------------- cleaning


@dataclass
class Paragraph:
    section: str
    pieces: list[tuple[int, int]]  # raw [start, end) ranges, in order
    line_no: int

    def text(self, raw: str) -> str:
        return "".join(raw[a:b] for a, b in self.pieces)


@dataclass
class CleanDocument:
    """One document after cleaning: text, sections, raw-offset map, report, text metadata."""

    clean_text: str
    paragraphs: list[tuple[str, int, int]]  # (section, start, end) in clean text
    offset_map: np.ndarray  # rows of (clean_start, raw_start, length)
    report: list[tuple[int, str, str, str]]  # (line_no, raw_line, rule_id, action)
    metadata: dict = field(default_factory=dict)


def normalise_line(text: str) -> str:
    """Case-folded, NFKC, punctuation-free, single-spaced text for comparing lines and bodies."""
    return " ".join(normal_words(text))


def normal_words(text: str) -> list[str]:
    """The words of `normalise_line(text)` (its text split on spaces), without joining them first."""
    return _WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold())


def _strip_range(line: str, start: int) -> tuple[int, int]:
    """Raw [start, end) of a line without surrounding whitespace."""
    left = len(line) - len(line.lstrip())
    right = len(line.rstrip())
    return start + left, start + max(right, left)


def _remove_inline(pieces, raw, regex):
    """Cut the parts of each match outside its `keep` group out of the raw ranges."""
    out, hit = [], False
    for a, b in pieces:
        cursor = a
        for m in regex.finditer(raw, a, b):
            hit = True
            keep_a, keep_b = m.span("keep")
            if m.start() > cursor:
                out.append((cursor, m.start()))
            out.append((keep_a, keep_b))
            cursor = m.end()
        if cursor < b:
            out.append((cursor, b))
    return out, hit


def _line_metadata(match: re.Match, rule: Rule, text: str) -> dict:
    found = {k: v for k, v in match.groupdict().items() if v}
    return found or {rule.target: text}


def clean_document(raw: str, rules: list[Rule], *, headline: str = "", outlet: str = "") -> CleanDocument:
    """Apply the boilerplate rules to one raw text.

    Lines are tested in order against the rules (first match wins). Before the first body
    paragraph, a line equal to the outlet name is the masthead (metadata), a line equal to the
    known headline is the headline section, and other non-sentence lines after the headline are the
    deck. An exact repeat of a kept line is removed. Body paragraphs split mid-sentence by blank
    lines are joined.
    """
    report: list[tuple[int, str, str, str]] = []
    metadata: dict = {}
    kept: list[Paragraph] = []
    seen_lines: set[str] = set()
    headline_key, outlet_key = normalise_line(headline), normalise_line(outlet)
    in_header, found_headline, body_seen = True, False, False
    line_rules = [r for r in rules if r.applies_to == "line"]
    prefix_rules = [r for r in rules if r.applies_to == "prefix"]
    inline_rules = [r for r in rules if r.applies_to == "inline"]

    offset = 0
    for line_no, line in enumerate(raw.split("\n"), start=1):
        line_start, offset = offset, offset + len(line) + 1
        text = line.strip()
        if not text:
            continue
        a, b = _strip_range(line, line_start)
        key = normalise_line(text)

        rule = next((r for r in line_rules if r.where == "any" and r.regex.fullmatch(text)), None)
        if rule:
            report.append((line_no, line, rule.rule_id, rule.action))
            if rule.action == "to_metadata":
                for name, value in _line_metadata(rule.regex.fullmatch(text), rule, text).items():
                    metadata.setdefault(name, value.strip())
            elif rule.action == "to_section":
                kept.append(Paragraph(rule.target, [(a, b)], line_no))
            continue
        if in_header and outlet_key and key == outlet_key:
            report.append((line_no, line, "masthead", "to_metadata"))
            metadata.setdefault("masthead", text)
            continue
        if headline_key and key == headline_key and not found_headline:
            report.append((line_no, line, "headline", "to_section"))
            kept.append(Paragraph("headline", [(a, b)], line_no))
            found_headline = True
            continue
        if key in seen_lines:
            report.append((line_no, line, "repeated_line", "removed"))
            continue

        section, pieces = "body", [(a, b)]
        for rule in prefix_rules:
            if rule.where == "first_body" and (body_seen or not in_header):
                continue
            m = rule.regex.match(raw, a, b)
            if not m or m.end() >= b:
                continue
            report.append((line_no, line, rule.rule_id, rule.action))
            if rule.action == "to_section":
                section = rule.target
            elif rule.action == "to_metadata":
                for name, value in _line_metadata(m, rule, m.group(0)).items():
                    metadata.setdefault(name, value.strip())
            pieces = [(m.end(), b)]
            break
        if pieces != [(a, b)]:  # a prefix was cut off: the line's key is that of what is left
            key = normalise_line("".join(raw[x:y] for x, y in pieces))
        if key in seen_lines:
            report.append((line_no, line, "repeated_line", "removed"))
            continue
        for rule in inline_rules:
            pieces, hit = _remove_inline(pieces, raw, rule.regex)
            if hit:
                report.append((line_no, line, rule.rule_id, rule.action))
        seen_lines.add(key)

        if section == "body" and in_header and found_headline and not text.endswith(SENTENCE_END):
            section = "deck"
            report.append((line_no, line, "deck", "to_section"))
        if section == "body":
            if kept and kept[-1].section == "body" and _continues(kept[-1].text(raw), raw[pieces[0][0]:pieces[0][1]]):
                report.append((line_no, line, "split_paragraph", "joined"))
                kept[-1].pieces.extend([(-1, -1)] + pieces)  # (-1, -1) marks the join space
                continue
            body_seen, in_header = True, False
        kept.append(Paragraph(section, pieces, line_no))

    return _assemble(raw, kept, report, metadata)


def _continues(previous: str, following: str) -> bool:
    """A paragraph that stops mid-sentence and one that starts in lower case are one paragraph."""
    return bool(previous) and not previous.rstrip().endswith(SENTENCE_END) and following[:1].islower()


def _assemble(raw, kept, report, metadata) -> CleanDocument:
    """Concatenate kept paragraphs ('\n' between, ' ' at joins) and record the offset map."""
    parts, segments, paragraphs, cursor = [], [], [], 0
    for i, para in enumerate(kept):
        if i:
            parts.append("\n")
            cursor += 1
        start = cursor
        last_raw = para.pieces[0][0]
        for a, b in para.pieces:
            if a < 0:  # join space maps to the raw character before it
                parts.append(" ")
                segments.append((cursor, last_raw, 0))
                cursor += 1
                continue
            parts.append(raw[a:b])
            segments.append((cursor, a, b - a))
            cursor += b - a
            last_raw = b
        paragraphs.append((para.section, start, cursor))
    offset_map = np.array(segments, dtype=np.int64).reshape(-1, 3)
    return CleanDocument("".join(parts), paragraphs, offset_map, report, metadata)


def to_raw_offsets(offset_map: np.ndarray, clean_offsets, *, end: bool = False) -> np.ndarray:
    """Map clean-text offsets to raw-text offsets (end=True for exclusive end offsets)."""
    offsets = np.asarray(clean_offsets, dtype=np.int64)
    if not len(offset_map):
        return offsets.copy()
    probe = offsets - 1 if end else offsets
    idx = np.clip(np.searchsorted(offset_map[:, 0], probe, side="right") - 1, 0, None)
    clean_start, raw_start, length = offset_map[idx].T
    within = np.minimum(probe - clean_start, np.maximum(length - 1, 0))
    raw = raw_start + np.maximum(within, 0)
    return raw + 1 if end else raw


def to_raw_offsets_many(offset_maps: list[np.ndarray], doc_codes: np.ndarray, clean_offsets, *,
                        end: bool = False) -> np.ndarray:
    """`to_raw_offsets` for offsets of many documents at once: offset_maps[doc_codes[i]] is the map of
    clean_offsets[i]'s document."""
    offsets = np.asarray(clean_offsets, dtype=np.int64)
    sizes = np.array([len(m) for m in offset_maps], dtype=np.int64)
    flat = np.concatenate([np.asarray(m, np.int64).reshape(-1, 3) for m in offset_maps]) if len(offset_maps) else \
        np.zeros((0, 3), np.int64)
    if not len(flat):
        return offsets.copy()
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    probe = offsets - 1 if end else offsets
    width = int(max(probe.max(initial=0), flat[:, 0].max())) + 2
    keys = np.repeat(np.arange(len(offset_maps), dtype=np.int64), sizes) * width + flat[:, 0]
    idx = np.maximum(np.searchsorted(keys, doc_codes * width + probe, side="right") - 1, first[doc_codes])
    idx = np.minimum(idx, len(flat) - 1)
    clean_start, raw_start, length = flat[idx].T
    within = np.minimum(probe - clean_start, np.maximum(length - 1, 0))
    raw = raw_start + np.maximum(within, 0)
    raw = raw + 1 if end else raw
    return np.where(sizes[doc_codes] > 0, raw, offsets)


# --------------------------------------------------------------------------- reading


def decode_bytes(data: bytes) -> tuple[str, str | None]:
    """Decode UTF-8 (BOM allowed); fall back to cp1252, then to UTF-8 with replacement.

    Returns the text and, where a fallback was used, what happened (for the exclusions table).
    """
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        return data.decode("cp1252"), f"not UTF-8 (first bad byte at {first_bad}); decoded as cp1252"
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        return text, (f"undecodable bytes (first at byte {first_bad}); decoded as UTF-8 with "
                      f"{text.count(chr(0xFFFD))} replacement character(s) U+FFFD")


def _fixed_text(text: str) -> str:
    """Unify line breaks so line numbers and offsets are stable."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_manifest(path: Path) -> pd.DataFrame:
    """Read and validate a manifest (required columns doc_id, file, outlet)."""
    if not path.exists():
        raise CorpusError(f"{path.parent}: no manifest.csv; add one with columns {', '.join(REQUIRED_MANIFEST_COLUMNS)} "
                          f"(optional: {', '.join(MANIFEST_COLUMNS[3:])})")
    manifest = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in REQUIRED_MANIFEST_COLUMNS if c not in manifest.columns]
    if missing:
        raise CorpusError(f"{path}: missing required column(s) {missing}; the manifest needs "
                          f"{', '.join(REQUIRED_MANIFEST_COLUMNS)} (found {list(manifest.columns)})")
    for col in MANIFEST_COLUMNS:
        if col not in manifest.columns:
            manifest[col] = ""
    for col in REQUIRED_MANIFEST_COLUMNS:
        blank = manifest.index[manifest[col].str.strip() == ""]
        if len(blank):
            rows = ", ".join(str(i + 2) for i in blank)
            raise CorpusError(f"{path}: empty {col!r} on line(s) {rows}; every row needs doc_id, file and outlet")
    return manifest


def _exclusion(source_file, doc_id, row, reason, action) -> dict:
    return {"source_file": source_file, "doc_id": doc_id, "row": row, "reason": reason, "action": action}


def read_folder(folder: Path) -> tuple[pd.DataFrame, list[dict]]:
    """Read a folder of .txt files with manifest.csv: one row per usable document, plus exclusions."""
    manifest_path = folder / "manifest.csv"
    manifest = read_manifest(manifest_path)
    exclusions: list[dict] = []
    rows: list[dict] = []
    seen_ids: dict[str, int] = {}
    listed = set(manifest["file"])
    for row_no, record in enumerate(manifest.to_dict("records"), start=2):
        doc_id, name = record["doc_id"], record["file"]
        where = f"{manifest_path.name} line {row_no}"
        if doc_id in seen_ids:
            exclusions.append(_exclusion(name, doc_id, row_no, f"duplicate doc_id {doc_id!r} ({where}; first on line "
                                         f"{seen_ids[doc_id]}); give each document its own doc_id", "dropped"))
            continue
        seen_ids[doc_id] = row_no
        path = folder / name
        if not path.is_file():
            exclusions.append(_exclusion(name, doc_id, row_no, f"file {name!r} named on {where} does not exist; "
                                         "fix the manifest's file column or add the file", "dropped"))
            continue
        text, fallback = decode_bytes(path.read_bytes())
        if fallback:
            exclusions.append(_exclusion(name, doc_id, row_no, fallback, "decoded_with_fallback"))
        if not text.strip():
            exclusions.append(_exclusion(name, doc_id, row_no, f"{name} is empty; remove its manifest row or "
                                         "add the text", "dropped"))
            continue
        rows.append({**record, "source_file": name, "raw_text": _fixed_text(text), "row": row_no})
    for path in sorted(folder.glob("*.txt")):
        if path.name not in listed:
            exclusions.append(_exclusion(path.name, "", None, f"{path.name} has no row in manifest.csv; add a row "
                                         "with doc_id, file and outlet to include it", "dropped"))
    return pd.DataFrame(rows), exclusions


# --------------------------------------------------------------------------- duplicates


@functools.lru_cache(maxsize=1 << 18)
def _word_hash(token: str) -> int:
    """A stable 32-bit hash of one word (cached: news vocabulary repeats, sha256 is the cost)."""
    return int.from_bytes(sha256_bytes(token.encode())[:16].encode(), "little") & 0xFFFFFFFF


def _shingle_hashes(text: str) -> np.ndarray:
    """Stable 32-bit hashes of the word 5-grams of normalised text, distinct and sorted (uint32: half
    the memory of the 64-bit arithmetic that mixes them, for every body of the corpus at once)."""
    tokens = normal_words(text)
    if len(tokens) < SHINGLE_WORDS:
        return np.empty(0, dtype=np.uint32)
    word_hash = np.fromiter(map(_word_hash, tokens), dtype=np.uint64, count=len(tokens))
    mixed = np.zeros(len(tokens) - SHINGLE_WORDS + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(SHINGLE_WORDS):
            mixed = mixed * np.uint64(1_000_003) + word_hash[k:len(tokens) - SHINGLE_WORDS + 1 + k]
    return np.unique((mixed & np.uint64(0xFFFFFFFF)).astype(np.uint32))


@functools.cache
def _minhash_permutations() -> tuple[np.ndarray, np.ndarray]:
    """The seed-1 permutations (a, b) of datasketch's MinHash that every signature uses, drawn once."""
    from datasketch import MinHash

    template = MinHash(num_perm=MINHASH_PERMUTATIONS, seed=1, hashfunc=int, scheme="affine32")
    a, b = template.permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser, which datasketch's "affine32" MinHash applies to each value."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def minhash_signatures(shingle_sets: list[np.ndarray]) -> np.ndarray:
    """MinHash signatures of non-empty uint32 shingle sets, one row each (MINHASH_PERMUTATIONS uint32).

    Each row holds the values of datasketch's `MinHash(num_perm=MINHASH_PERMUTATIONS, seed=1,
    hashfunc=int, scheme="affine32")` after `update_batch` of the set: for every permutation (a, b),
    the least a * fmix32(h) + b modulo 2**32 over the set. Computed for a chunk's bodies at once, one
    permutation at a time over every set, rather than one MinHash object a body (a test compares them).
    """
    if not shingle_sets:
        return np.empty((0, MINHASH_PERMUTATIONS), dtype=np.uint32)
    lengths = np.fromiter(map(len, shingle_sets), dtype=np.int64, count=len(shingle_sets))
    if (lengths == 0).any():
        raise ValueError("minhash_signatures: every shingle set must hold at least one value")
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    mixed = _fmix32(np.concatenate(shingle_sets).astype(np.uint32, copy=False))
    a, b = _minhash_permutations()
    out = np.empty((len(shingle_sets), MINHASH_PERMUTATIONS), dtype=np.uint32)
    permuted = np.empty_like(mixed)
    for k in range(MINHASH_PERMUTATIONS):
        np.multiply(mixed, a[k], out=permuted)
        permuted += b[k]
        out[:, k] = np.minimum.reduceat(permuted, starts)
    return out


def body_signatures(body_texts: dict[str, str]) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Each body's word 5-gram shingle hashes and MinHash signature (None for a body too short).

    Document-local, so it runs on each chunk of documents; `duplicate_pairs` combines the signatures.
    """
    hashes = {doc_id: _shingle_hashes(text) for doc_id, text in body_texts.items()}
    long_enough = [doc_id for doc_id, h in hashes.items() if len(h)]
    rows = dict(zip(long_enough, minhash_signatures([hashes[doc_id] for doc_id in long_enough])))
    return {doc_id: (h, rows.get(doc_id)) for doc_id, h in hashes.items()}


def find_duplicates(documents: pd.DataFrame, body_texts: dict[str, str]) -> pd.DataFrame:
    """Pairs (copy -> original) of near-duplicate bodies, with containment similarity.

    Candidates come from MinHash LSH (no all-pairs comparison); each candidate's similarity is
    then computed exactly as |S_copy ∩ S_original| / |S_copy| over word 5-gram shingles.
    """
    return duplicate_pairs(documents, body_signatures(body_texts))


def duplicate_pairs(documents: pd.DataFrame, signatures: dict) -> pd.DataFrame:
    """The corpus-level half of `find_duplicates`: LSH over the signatures of every chunk, then exact checks.

    `signatures`: doc_id -> (shingle hashes, MinHash values or None) from `body_signatures`.
    """
    doc_ids = sorted(doc_id for doc_id, (_, sig) in signatures.items() if sig is not None)
    hashvalues = np.array([signatures[doc_id][1] for doc_id in doc_ids], dtype=np.uint64)
    info = _copy_rule_keys(documents)
    pairs = []
    for first, second in lsh_candidates(hashvalues.reshape(len(doc_ids), MINHASH_PERMUTATIONS)):
        copy, original = _which_is_copy(info, doc_ids[first], doc_ids[second])
        a, b = signatures[copy][0], signatures[original][0]
        similarity = len(np.intersect1d(a, b, assume_unique=True)) / len(a)
        if similarity >= DUPLICATE_THRESHOLD:
            pairs.append((copy, original, round(float(similarity), 6)))
    result = pd.DataFrame(pairs, columns=["doc_id", "duplicate_of", "duplicate_similarity"])
    # keep the most similar original for each copy, then resolve chains to the root original
    result = result.sort_values(["doc_id", "duplicate_similarity", "duplicate_of"], ascending=[True, False, True])
    result = result.drop_duplicates("doc_id")
    result["duplicate_of"] = result["doc_id"].map(resolve_chains(dict(zip(result["doc_id"], result["duplicate_of"]))))
    return result[result["doc_id"] != result["duplicate_of"]].reset_index(drop=True)


def lsh_candidates(hashvalues: np.ndarray) -> list[tuple[int, int]]:
    """The candidate pairs of MinHash LSH: (i, j), i < j, rows of `hashvalues` (one MinHash a row)
    equal in every value of at least one band. The bands (their number and width for a 0.5 threshold)
    are datasketch's `MinHashLSH`'s, so the pairs are those its index gives; found with one sort per
    band rather than Python objects for every document and band. Sorted."""
    from datasketch import MinHashLSH

    rows = np.arange(len(hashvalues))
    found = []
    for start, end in MinHashLSH(threshold=0.5, num_perm=hashvalues.shape[1]).hashranges:
        band = np.ascontiguousarray(hashvalues[:, start:end])
        _, bucket = np.unique(band.view(np.dtype((np.void, band.itemsize * (end - start)))).ravel(),
                              return_inverse=True)
        shared = pd.DataFrame({"bucket": bucket.ravel(), "row": rows})
        shared = shared[shared.duplicated("bucket", keep=False)]
        same = shared.merge(shared, on="bucket")
        found.append(same.loc[same["row_x"] < same["row_y"], ["row_x", "row_y"]])
    if not found:
        return []
    candidates = pd.concat(found, ignore_index=True).drop_duplicates().sort_values(["row_x", "row_y"])
    return list(zip(candidates["row_x"].tolist(), candidates["row_y"].tolist()))


def resolve_chains(original_of: dict) -> dict:
    """Each copy's root original: copy -> original pointers followed to a document that is no copy.

    Pointer doubling (each round maps every copy to its original's original) until nothing changes,
    which takes about log2 of the longest chain in rounds; a cycle, which the copy rule should not
    make, never settles and keeps the old bound of one round per copy."""
    roots = original_of
    for _ in range(len(roots)):
        doubled = {k: roots.get(v, v) for k, v in roots.items()}
        if doubled == roots:
            break
        roots = doubled
    return roots


def _copy_rule_keys(documents: pd.DataFrame) -> dict[str, dict]:
    """What `_which_is_copy` compares, per document: its outlet and original_outlet normalised (each
    distinct name once) and its published date, as dicts keyed by doc_id."""
    doc_ids = documents["doc_id"].tolist()

    def normalised(column: str) -> dict:
        values = documents[column].tolist()
        key_of = {value: normalise_line(value) for value in set(values)}
        return dict(zip(doc_ids, (key_of[v] for v in values)))

    return {"outlet": normalised("outlet"), "original_outlet": normalised("original_outlet"),
            "published": dict(zip(doc_ids, documents["published"].tolist()))}


def _which_is_copy(info: dict[str, dict], a: str, b: str) -> tuple[str, str]:
    """The contract's rule: original_outlet naming the other's outlet, else later published, else larger id.
    `info`: `_copy_rule_keys` of the documents."""
    outlet, original_outlet = info["outlet"], info["original_outlet"]
    if original_outlet[a] and original_outlet[a] == outlet[b]:
        return a, b
    if original_outlet[b] and original_outlet[b] == outlet[a]:
        return b, a
    pub_a, pub_b = info["published"][a], info["published"][b]
    if pub_a and pub_b and pub_a != pub_b:
        return (a, b) if pub_a > pub_b else (b, a)
    return (a, b) if a > b else (b, a)


# --------------------------------------------------------------------------- documents


def _parse_date(value: str) -> str:
    """ISO date from the date forms captures use; unparsed text is returned as it was."""
    for fmt in ("%d %B %Y", "%B %d, %Y", "%A, %d %B %Y", "%A, %B %d, %Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value.strip(), fmt).date().isoformat()
        except ValueError:
            continue
    return value.strip()


@dataclass
class CleanCorpus:
    """The corpus step's output: documents (with clean_text and offset_map), paragraphs, report, exclusions."""

    documents: pd.DataFrame
    paragraphs: pd.DataFrame
    cleaning_report: pd.DataFrame
    exclusions: pd.DataFrame


@dataclass
class CleanChunk:
    """A chunk of documents after the document-local part of cleaning, before the duplicate index.

    `signatures` (doc_id -> shingle hashes, MinHash values) and `body_texts` feed the corpus-level
    duplicate index; `finish_chunk` then marks the copies' added lines and builds the tables.
    """

    documents: pd.DataFrame
    cleaned: dict[str, CleanDocument]
    body_texts: dict[str, str]
    signatures: dict  # doc_id -> (shingle hashes, MinHash or None)


def _prepend_title(doc: CleanDocument, title: str) -> CleanDocument:
    """Make an article table's title cell the document's first (headline) paragraph.

    Only when the text cell holds no line equal to the title (then that line is the headline). The
    offset map keeps pointing into the text cell; the title's own characters are not in it.
    """
    if not title or any(sec == "headline" for sec, _, _ in doc.paragraphs):
        return doc
    shift = len(title) + (1 if doc.clean_text else 0)
    offset_map = doc.offset_map.copy()
    offset_map[:, 0] += shift
    paragraphs = [("headline", 0, len(title))] + [(sec, s + shift, e + shift) for sec, s, e in doc.paragraphs]
    text = title + ("\n" + doc.clean_text if doc.clean_text else "")
    report = [(0, title, "title_column", "to_section"), *doc.report]
    return CleanDocument(text, paragraphs, offset_map, report, {**doc.metadata, "title_prefix": shift})


def clean_chunk(raw_docs: pd.DataFrame, rules: list[Rule]) -> CleanChunk:
    """The document-local part of cleaning: rules, metadata from the text, body signatures.

    A raw document whose `headline_from` is "title" (an article table's title column) gets the
    title as its headline paragraph when the text does not hold it (`_prepend_title`).
    """
    docs = raw_docs.copy()
    titles = docs["headline_from"] if "headline_from" in docs.columns else pd.Series("", index=docs.index)
    cleaned: dict[str, CleanDocument] = {}
    for record, source in zip(docs.itertuples(index=False), titles):
        doc = clean_document(record.raw_text, rules, headline=record.headline, outlet=record.outlet)
        cleaned[record.doc_id] = _prepend_title(doc, record.headline) if source == "title" else doc

    for col, key in (("author", "author"), ("page_date", "page_date"), ("published", "published")):
        found = docs["doc_id"].map(lambda d, k=key: cleaned[d].metadata.get(k, ""))
        fill = (docs[col].str.strip() == "") & (found != "")
        docs.loc[fill, col] = found[fill].map(_parse_date) if col != "author" else found[fill]
    docs["dateline"] = docs["doc_id"].map(lambda d: cleaned[d].metadata.get("dateline", ""))
    docs["title_prefix"] = docs["doc_id"].map(lambda d: cleaned[d].metadata.get("title_prefix", 0)).astype(np.int64)
    body_texts = {d: "\n".join(c.clean_text[s:e] for sec, s, e in c.paragraphs if sec == "body")
                  for d, c in cleaned.items()}
    signatures = body_signatures(body_texts)
    return CleanChunk(docs, cleaned, body_texts, signatures)


def finish_chunk(chunk: CleanChunk, duplicates: pd.DataFrame, original_bodies: dict[str, str]) -> CleanCorpus:
    """Document-local again, once the duplicate index is known: a copy's lines not in its original's
    body become `added`; then the documents, paragraphs and cleaning report tables of the chunk.

    `duplicates`: the corpus's (doc_id, duplicate_of, duplicate_similarity) rows (others are ignored);
    `original_bodies`: normalised body text of each original a copy in this chunk names.
    """
    docs = chunk.documents
    duplicates = duplicates[duplicates["doc_id"].isin(docs["doc_id"])]
    docs = docs.drop(columns=["duplicate_of", "duplicate_similarity"], errors="ignore")
    docs = docs.merge(duplicates, on="doc_id", how="left")
    docs["duplicate_of"] = docs["duplicate_of"].astype(object).where(docs["duplicate_of"].notna(), "")
    docs["duplicate_similarity"] = docs["duplicate_similarity"].astype(float)

    cleaned = {d: copy.copy(c) for d, c in chunk.cleaned.items()}
    raw_text = dict(zip(docs["doc_id"], docs["raw_text"]))
    report_rows = []
    for copy_id, original in zip(duplicates["doc_id"], duplicates["duplicate_of"]):
        original_body = original_bodies[original]
        doc = cleaned[copy_id]
        marked = []
        for sec, s, e in doc.paragraphs:
            if sec == "body" and normalise_line(doc.clean_text[s:e]) not in original_body:
                sec = "added"
                raw_start = int(to_raw_offsets(doc.offset_map, [s])[0])
                line_no = raw_text[copy_id].count("\n", 0, raw_start) + 1
                report_rows.append((copy_id, line_no, "repost_added_line", "to_section"))
            marked.append((sec, s, e))
        doc.paragraphs = marked

    source = dict(zip(docs["doc_id"], docs["source_file"]))
    raw_lines = {d: r.split("\n") for d, r in raw_text.items()}

    def raw_line(d, ln, text):  # line 0: an article table's title cell
        return raw_lines[d][ln - 1] if ln else text

    report = [(source[d], d, ln, raw_line(d, ln, line), rule, action)
              for d, c in cleaned.items() for ln, line, rule, action in c.report]
    report += [(source[d], d, ln, raw_lines[d][ln - 1], rule, action) for d, ln, rule, action in report_rows]
    report_df = pd.DataFrame(report, columns=REPORT_COLUMNS).sort_values(
        ["doc_id", "line_no", "rule_id"], kind="stable").reset_index(drop=True)

    paragraphs = pd.DataFrame(
        [(d, i, sec, s, e) for d, c in cleaned.items() for i, (sec, s, e) in enumerate(c.paragraphs)],
        columns=PARAGRAPH_COLUMNS)
    docs["clean_text"] = docs["doc_id"].map(lambda d: cleaned[d].clean_text)
    docs["offset_map"] = docs["doc_id"].map(lambda d: cleaned[d].offset_map)
    docs["content_sha256"] = docs["clean_text"].map(lambda t: sha256_bytes(t.encode("utf-8")))
    return CleanCorpus(docs.reset_index(drop=True), paragraphs, report_df, pd.DataFrame(columns=EXCLUSION_COLUMNS))


def original_bodies(duplicates: pd.DataFrame, body_texts: dict[str, str]) -> dict[str, str]:
    """Normalised body text of every original that some copy names (what `finish_chunk` compares with)."""
    return {original: normalise_line(body_texts[original]) for original in sorted(set(duplicates["duplicate_of"]))}


def clean_corpus(raw_docs: pd.DataFrame, exclusions: list[dict], rules: list[Rule]) -> CleanCorpus:
    """Clean every document, mark syndicated copies and their added lines, and build the tables.

    The whole corpus as one chunk; the pipeline runs the same steps on many chunks.
    """
    chunk = clean_chunk(raw_docs, rules)
    duplicates = duplicate_pairs(chunk.documents, chunk.signatures)
    out = finish_chunk(chunk, duplicates, original_bodies(duplicates, chunk.body_texts))
    out.exclusions = pd.DataFrame(exclusions, columns=EXCLUSION_COLUMNS)
    return out


def corpus_id(documents: pd.DataFrame) -> str:
    """The corpus hash of the contract (sorted doc ids and clean texts)."""
    return corpus_hash(documents["doc_id"], documents["clean_text"])


def apply_grouping(documents: pd.DataFrame, grouping: str | Path | None = None) -> pd.Series:
    """Each document's group under a grouping: a CSV (outlet,group) or a documents column.

    Default: the `outlet_group` column, filled for outlets the manifest leaves blank from the
    packaged outlet list (so AP, Reuters and AFP copy land in `wire_service`). Outlets the grouping
    does not cover get NA and a warning that lists them.
    """
    import warnings

    if grouping is None or grouping == "outlet_group":
        known = pd.read_csv(DEFAULT_OUTLET_GROUPS, dtype=str, keep_default_na=False)
        by_name = dict(zip(known["outlet"].map(normalise_line), known["group"]))
        groups = documents["outlet_group"].where(documents["outlet_group"] != "",
                                                 documents["outlet"].map(normalise_line).map(by_name))
    elif isinstance(grouping, str) and grouping in documents.columns:
        groups = documents[grouping].where(documents[grouping] != "")
    else:
        path = Path(grouping)
        if not path.is_file():
            raise CorpusError(f"grouping {str(grouping)!r} is neither a documents column "
                              f"({', '.join(documents.columns)}) nor a CSV file with columns outlet,group")
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        if not {"outlet", "group"} <= set(table.columns):
            raise CorpusError(f"{path}: a grouping file needs columns outlet,group (found {list(table.columns)})")
        groups = documents["outlet"].map(dict(zip(table["outlet"], table["group"])))
    groups = groups.replace("", pd.NA)
    left_out = sorted(documents.loc[groups.isna(), "outlet"].unique())
    if left_out and groups.isna().all():
        warnings.warn(f"grouping {grouping or 'outlet_group'} covers none of this corpus's outlets, so there are "
                      f"no group estimates or contrasts; check its outlet names against these: "
                      f"{', '.join(left_out)}", stacklevel=2)
    elif left_out:
        warnings.warn(f"grouping {grouping or 'outlet_group'}: outlet(s) without a group are left out of its "
                      f"contrasts: {', '.join(left_out)}", stacklevel=2)
    return groups.rename("group")
