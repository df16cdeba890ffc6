"""The public entry points: load_corpus (corpus + text steps), measure (measures + compare) and the
table writer.

Document-local steps (clean, segment, voice, match, score) run on chunks of documents through an
`engine.Runner` (this process, worker processes or Dask); corpus-level steps (duplicate index,
aggregates, priors, bootstrap) combine the chunks' results here. The same chunk functions serve every
engine. Each stage can be cached on disk under a key of everything it reads (`analysis.cache`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import pickle
import shutil
import tempfile
import uuid
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import actors as actors_mod
from analysis import compare, measures
from analysis import text as text_model
from analysis.cache import StageCache, StageLog, run_stage
from analysis.corpus import (
    DEFAULT_RULES,
    DOCUMENT_COLUMNS,
    EXCLUSION_COLUMNS,
    PARAGRAPH_COLUMNS,
    REPORT_COLUMNS,
    CleanChunk,
    CorpusError,
    apply_grouping,
    clean_chunk,
    corpus_id,
    duplicate_pairs,
    finish_chunk,
    load_rules,
    original_bodies,
    read_folder,
)
from analysis.engine import ENGINES, Runner, release_freed_heap
from analysis.frames import (
    SpilledParts,
    StoredTable,
    TableDict,
    arrow_part,
    concat_frames,
    contiguous,
    is_sorted,
    joined_parts,
    looked_up_by_runs,
    map_arrays_from_disk,
    map_from_disk,
    positions,
    release_mapped_pages,
    stored_parquet,
    write_parquet_files,
)
from analysis.provenance import DATA_DIR, __version__, code_hash, file_sha256, file_version
from analysis.tables import iter_table, table_kind
from analysis.text import SENTENCE_COLUMNS, SPAN_COLUMNS

CORPUS_TABLES = ("documents", "sentences", "spans", "cleaning_report", "exclusions")
DEFAULT_CHUNK_SIZE = 500  # documents per chunk: large enough to amortise a task, small enough to spread
SCORE_CHUNK = 5000  # distinct sentences per VADER task
ATTRIBUTION_ROWS = 1 << 19  # rows of matches read at a time for the attribution table
TERM_SUM_ROWS = 1 << 22  # term-count rows summed by group at a time (some 40 bytes a row while summed)
DUPLICATE_INFO = ("doc_id", "outlet", "original_outlet", "published")  # what the duplicate index reads
WARN_EXCLUSIONS = 20  # exclusions warned one by one; beyond, one warning says how many more
COLUMN_OPTIONS = ("text_col", "outlet_col", "id_col", "date_col", "title_col", "url_col", "author_col", "group_col")


@dataclass
class Corpus:
    """Documents with clean text, their sentences and voice spans, and what cleaning did.

    `documents` also holds `clean_text`, `raw_text` and `offset_map` (not written to disk) and
    `group`, the documents' groups under the grouping asked for. `keys` holds the cache keys of the
    corpus and text stages (empty for a Corpus built by hand); `stages_computed` the stages this
    load computed rather than read from the cache.
    """

    documents: pd.DataFrame
    paragraphs: pd.DataFrame
    sentences: pd.DataFrame
    spans: pd.DataFrame
    cleaning_report: pd.DataFrame
    exclusions: pd.DataFrame
    source: str
    keys: dict = field(default_factory=dict)
    stages_computed: list = field(default_factory=list)

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

    def text_key(self) -> str:
        """The key measure's stages build on: the text stage's cache key, or for a Corpus built by
        hand a hash of its content (documents, clean texts, offset maps, paragraphs, sentences, spans)."""
        if "text" in self.keys:
            return self.keys["text"]
        digest = hashlib.sha256(self.corpus_hash.encode())
        docs = self.documents[[c for c in DOCUMENT_COLUMNS if c in self.documents.columns]]
        for table in (docs, self.paragraphs, self.sentences, self.spans):
            digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
        for offset_map in self.documents["offset_map"]:
            digest.update(np.ascontiguousarray(offset_map, dtype=np.int64).tobytes())
        self.keys["text"] = digest.hexdigest()
        return self.keys["text"]


def write_tables(tables: dict, out: str | Path, *, fmt: str = "csv", cache: StageCache | None = None) -> list[Path]:
    """Write tables deterministically: CSV with '\n' line ends and fixed column order, or Parquet.

    A table may be a DataFrame or a `frames.StoredTable` (a file; written to CSV a row group at a
    time). A Parquet table this run stored in or read from `cache`, or held in a file, is copied
    from that file, which holds the same bytes, rather than encoded again."""
    if fmt not in {"csv", "parquet"}:
        raise ValueError(f"format {fmt!r} is not one of csv, parquet")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.{fmt}" for name in tables]
    if fmt == "csv":
        for path, table in zip(paths, tables.values()):
            if isinstance(table, StoredTable):
                batches = table.batches()  # checks its file before the CSV is opened
                with open(path, "w", encoding="utf-8", newline="") as file:
                    for i, batch in enumerate(batches):
                        batch.to_csv(file, index=False, header=i == 0, lineterminator="\n")
            else:
                table.to_csv(path, index=False, lineterminator="\n")
        return paths
    encode = []
    for (name, table), path in zip(tables.items(), paths):
        source = table.path if isinstance(table, StoredTable) else cache.file_of(table) if cache is not None else None
        if source is not None:
            try:
                if Path(source).resolve() != path.resolve():
                    shutil.copyfile(source, path)
                continue
            except OSError as exc:  # the cache file went meanwhile (another run cleared it): encode instead
                if isinstance(table, StoredTable):  # nothing else holds it
                    raise OSError(f"{source}: the file holding the {name} table went before it was copied to "
                                  f"{path} (was the cache cleared meanwhile?); run again") from exc
        encode.append((table, path))
    write_parquet_files([t for t, _ in encode], [p for _, p in encode])
    return paths


# --------------------------------------------------------------------------- chunks


def _concat(frames: list[pd.DataFrame], columns=None) -> pd.DataFrame:
    """Chunk results joined in chunk order; empty chunks are left out so they cannot change dtypes."""
    full = [f for f in frames if len(f)]
    if not full:
        return frames[0].iloc[0:0].reset_index(drop=True) if frames else pd.DataFrame(columns=columns)
    return contiguous(concat_frames(full))


def document_chunks(documents: pd.DataFrame, tables: dict[str, pd.DataFrame], size: int) -> list[dict]:
    """The corpus cut into chunks of `size` documents (in document order): each a dict with the
    chunk's `documents` and the rows of every other table that belong to them."""
    chunk_of = pd.Series(np.arange(len(documents)) // size, index=documents["doc_id"].to_numpy())
    n = int(chunk_of.max()) + 1 if len(chunk_of) else 0
    chunks = [{"documents": documents.iloc[i * size:(i + 1) * size]} for i in range(n)]
    for name, table in tables.items():
        parts = dict(tuple(table.groupby(looked_up_by_runs(table["doc_id"], chunk_of), sort=False))) if len(table) else {}
        for i, chunk in enumerate(chunks):
            chunk[name] = parts.get(i, table.iloc[0:0])
    return chunks


def _chunk_size(chunk: dict) -> int:
    return len(chunk["documents"])


# The chunk functions: document-local, module level (so processes and Dask workers can run them),
# and the same for every engine.

@dataclass(frozen=True)
class _CleanedOnDisk:
    """A cleaned chunk kept in files between the cleaning and the duplicate pass: what the duplicate
    index reads (each document's outlet and date, the body signatures) is held, the rest (documents,
    cleaned texts and lines, body texts) is read back by the pass that needs it."""

    chunk_file: Path  # (documents, cleaned), pickled
    bodies_file: Path  # body_texts, pickled
    info: pd.DataFrame
    signatures: dict


def _clean_to_disk(raw_docs: pd.DataFrame, *, rules, folder: Path) -> _CleanedOnDisk:
    """`clean_chunk`, with its result written to files in `folder` (by the worker that cleaned it),
    so that neither this process nor the duplicate pass's forked workers hold every cleaned chunk."""
    chunk = clean_chunk(raw_docs, rules)
    stem = folder / f"cleaned-{uuid.uuid4().hex[:12]}"
    chunk_file, bodies_file = stem.with_suffix(".chunk"), stem.with_suffix(".bodies")
    chunk_file.write_bytes(pickle.dumps((chunk.documents, chunk.cleaned), protocol=pickle.HIGHEST_PROTOCOL))
    bodies_file.write_bytes(pickle.dumps(chunk.body_texts, protocol=pickle.HIGHEST_PROTOCOL))
    return _CleanedOnDisk(chunk_file, bodies_file, chunk.documents[list(DUPLICATE_INFO)], chunk.signatures)


def _read_cleaned(chunk) -> CleanChunk:
    """A cleaned chunk, read back from its file if it was kept on disk (without its body texts and
    signatures, which `finish_chunk` does not read)."""
    if not isinstance(chunk, _CleanedOnDisk):
        return chunk
    documents, cleaned = pickle.loads(chunk.chunk_file.read_bytes())
    return CleanChunk(documents, cleaned, {}, {})


def _finish_chunk(chunk, *, duplicates, bodies, folder: Path | None = None) -> dict:
    """The chunk's corpus tables, once the duplicate index is known. With `folder`, each is written
    to an Arrow file there by the worker that made it (`ArrowPart`): the main process joins them
    once the pass's workers are gone (`joined_parts`), rather than holding every chunk's tables
    beside those workers."""
    clean = finish_chunk(_read_cleaned(chunk), duplicates, bodies)
    docs = clean.documents
    docs["n_words"] = np.fromiter(map(text_model.count_words, docs["clean_text"].tolist()), dtype=np.int64,
                                  count=len(docs))
    tables = {"documents": docs.drop(columns=["offset_map"]), "offset_maps": _offset_maps_long(docs),
              "paragraphs": clean.paragraphs, "cleaning_report": clean.cleaning_report}
    return tables if folder is None else {name: arrow_part(table, folder) for name, table in tables.items()}


def _text_chunk(chunk: dict) -> dict:
    sentences, spans = text_model.build_text_tables(chunk["documents"], chunk["paragraphs"])
    return {"sentences": sentences, "spans": spans}


def _words_chunk(chunk: dict) -> dict:
    docs, sentences, spans = chunk["documents"], chunk["sentences"], chunk["spans"]
    # One word pass per document serves both tables.
    words_of = {d: text_model.words_with_spans(t) for d, t in zip(docs["doc_id"].tolist(), docs["clean_text"].tolist())}
    word_totals = text_model.word_voice_totals(docs, sentences, spans, words_of=words_of)
    if word_totals.empty:
        terms = pd.DataFrame({"doc_id": [], "term": [], "voice": [], "section": [], "count": []})
    else:
        terms = measures.term_counts(docs, sentences, spans, words_of=words_of, categorical=True)
    return {"word_totals": word_totals, "term_counts": terms}


def _title_raw_offsets(found: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """Raw offsets of matches in a headline taken from a table's title column point into the title
    cell (stripped), which is where those characters come from; all others into the text cell."""
    prefix = found["doc_id"].map(dict(zip(documents["doc_id"], documents["title_prefix"]))).fillna(0)
    in_title = found["start"] < prefix
    if in_title.any():
        found = found.copy()
        found.loc[in_title, "raw_start"] = found.loc[in_title, "start"]
        found.loc[in_title, "raw_end"] = found.loc[in_title, "end"]
    return found


def _matches_chunk(chunk: dict, *, matcher) -> dict:
    docs, sentences, spans = chunk["documents"], chunk["sentences"], chunk["spans"]
    raw = measures.match_documents(docs, matcher)
    raw = _concat([raw, measures.scare_quote_matches(docs, spans)])
    return {"matches": _title_raw_offsets(measures.annotate_matches(raw, docs, sentences, spans), docs)}


def _actors_chunk(chunk: dict, *, actors) -> dict:
    docs = chunk["documents"]
    mentions = actors_mod.actor_mentions(docs, chunk["sentences"], chunk["spans"], actors)
    return {"mentions": _title_raw_offsets(mentions, docs)}


def _vader_chunk(texts: pd.Series, *, mask: list[str]) -> pd.DataFrame:
    """VADER scores of distinct sentence texts, plain and with the topic words masked."""
    frame = pd.DataFrame({"doc_id": "", "sentence_id": np.arange(len(texts)), "text": texts.tolist()})
    plain = measures.score_sentences(frame)
    if not mask:  # an empty mask scores with the plain analyzer: the same numbers, not computed twice
        return plain[["compound", "pos", "neu", "neg"]].assign(compound_masked=plain["compound"].to_numpy())
    masked = measures.score_sentences_masked(frame, mask)
    return plain[["compound", "pos", "neu", "neg"]].assign(compound_masked=masked["compound_masked"].to_numpy())


def _combine(parts: list[dict], name: str, *, sort=None, columns=None) -> pd.DataFrame:
    """One table from the chunks' parts; `sort` re-sorts (stably) a table the one-chunk step sorts
    across documents, so the result does not depend on where the chunks were cut. Each part's piece
    is let go (set to None) once joined, so a stage's parts and its tables are not all held at once."""
    table = _concat([p[name] for p in parts], columns)
    for part in parts:
        part[name] = None
    if sort and not is_sorted(table, sort):  # chunks in order need no sort (a sorted table is unchanged)
        table = table.sort_values(sort, kind="stable", ignore_index=True)  # stays in one piece
    return table


# --------------------------------------------------------------------------- corpus


def _hash_inputs(path: Path, mapping: dict, rules) -> dict:
    """What the corpus stage reads: the input files' sha256 (not their location), mapping, rules."""
    if path.is_dir():
        files = {"manifest.csv": file_sha256(path / "manifest.csv") if (path / "manifest.csv").is_file() else ""}
        files.update({p.name: file_sha256(p) for p in sorted(path.glob("*.txt"))})
    else:
        files = {path.name: file_sha256(path)}
    return {"kind": "folder" if path.is_dir() else table_kind(path), "files": files, "mapping": mapping,
            "rules": file_sha256(rules or DEFAULT_RULES)}


def _raw_chunks(path: Path, mapping: dict, chunk_size: int, exclusions: list):
    """Raw documents in chunks (a folder's manifest rows, or a table's rows); exclusions collected."""
    if path.is_dir():
        raw, excluded = read_folder(path)
        exclusions += excluded
        for start in range(0, len(raw), chunk_size):
            yield raw.iloc[start:start + chunk_size].reset_index(drop=True)
        return
    for frame, excluded in iter_table(path, chunk_rows=chunk_size, **mapping):
        exclusions += excluded
        if len(frame):
            yield frame


def _offset_maps_long(documents: pd.DataFrame) -> pd.DataFrame:
    maps = documents["offset_map"].tolist()
    flat = np.concatenate(maps) if maps else np.zeros((0, 3), dtype=np.int64)
    return pd.DataFrame({"doc_id": np.repeat(documents["doc_id"].to_numpy(object), [len(m) for m in maps]),
                         "clean_start": flat[:, 0], "raw_start": flat[:, 1], "length": flat[:, 2]})


def _offset_maps_from_long(documents: pd.DataFrame, long: pd.DataFrame) -> list[np.ndarray]:
    counts = long.groupby("doc_id", sort=False).size().reindex(documents["doc_id"], fill_value=0).to_numpy()
    values = long[["clean_start", "raw_start", "length"]].to_numpy(np.int64)
    return [part.reshape(-1, 3) for part in np.split(values, np.cumsum(counts)[:-1])]


def _compute_corpus(path: Path, mapping: dict, rules, runner: Runner, chunk_size: int,
                    folder: Path | None = None) -> dict:
    """The corpus stage: cleaning in chunks, then the duplicate index over the whole corpus, then each
    chunk finished. With `folder` (local workers), each cleaned chunk waits for the duplicate index in
    files there (`_clean_to_disk`), rather than in this process's memory and every forked worker's."""
    if folder is not None and runner.engine != "dask":  # dask's workers may not share this file system
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="framing-lens-clean-", dir=folder) as kept:
            return _corpus_from_chunks(path, mapping, rules, runner, chunk_size, Path(kept))
    return _corpus_from_chunks(path, mapping, rules, runner, chunk_size, None)


def _corpus_from_chunks(path: Path, mapping: dict, rules, runner: Runner, chunk_size: int,
                        kept: Path | None) -> dict:
    exclusions: list[dict] = []
    clean, options = (clean_chunk, {}) if kept is None else (_clean_to_disk, {"folder": kept})
    chunks = runner.map(clean, _raw_chunks(path, mapping, chunk_size, exclusions), desc="clean",
                        rules=load_rules(rules), **options)
    if not chunks:
        return {"documents": pd.DataFrame(), "exclusions": pd.DataFrame(exclusions, columns=EXCLUSION_COLUMNS)}
    # Corpus level: one duplicate index over every chunk's signatures.
    info = pd.concat([_duplicate_info(c) for c in chunks], ignore_index=True)
    duplicates = duplicate_pairs(info, {d: s for c in chunks for d, s in c.signatures.items()})
    # The signatures are done with: held, they would be in every forked worker's resident memory too.
    chunks = [_without_signatures(c) for c in chunks]
    bodies = original_bodies(duplicates, _needed_bodies(chunks, set(duplicates["duplicate_of"])))
    parts = runner.map(_finish_chunk, chunks, desc="duplicates", size=lambda c: len(_duplicate_info(c)), total=len(info),
                       duplicates=duplicates, bodies=bodies, **({} if kept is None else {"folder": kept}))
    # The cleaned documents (their lines, body texts and signatures, as Python objects) are done with;
    # held, they would sit under the joins below, the stage's peak.
    del chunks, bodies
    if kept is not None:
        parts = [{name: joined_parts([p[name] for p in parts]) for name in parts[0]}]
    return {"documents": _combine(parts, "documents"), "offset_maps": _combine(parts, "offset_maps"),
            "paragraphs": _combine(parts, "paragraphs", columns=PARAGRAPH_COLUMNS),
            "cleaning_report": _combine(parts, "cleaning_report", sort=["doc_id", "line_no", "rule_id"],
                                        columns=REPORT_COLUMNS),
            "exclusions": pd.DataFrame(exclusions, columns=EXCLUSION_COLUMNS)}


def _without_signatures(chunk):
    return dataclasses.replace(chunk, signatures={})


def _duplicate_info(chunk) -> pd.DataFrame:
    return chunk.info if isinstance(chunk, _CleanedOnDisk) else chunk.documents[list(DUPLICATE_INFO)]


def _needed_bodies(chunks: list, needed: set) -> dict[str, str]:
    """The body texts of the documents in `needed`, from every chunk (read back, one at a time, from
    the files of chunks kept on disk)."""
    bodies = {}
    for chunk in chunks:
        texts = pickle.loads(chunk.bodies_file.read_bytes()) if isinstance(chunk, _CleanedOnDisk) else \
            chunk.body_texts
        bodies.update((d, t) for d, t in texts.items() if d in needed)
    return bodies


def _warn_exclusions(path: Path, exclusions: pd.DataFrame) -> None:
    reasons = exclusions["reason"].tolist()
    for reason in reasons[:WARN_EXCLUSIONS]:
        warnings.warn(f"{path}: {reason}", stacklevel=4)
    if len(reasons) > WARN_EXCLUSIONS:
        warnings.warn(f"{path}: {len(reasons) - WARN_EXCLUSIONS} more row(s) excluded or decoded with a fallback; "
                      "see the exclusions table", stacklevel=4)


def _load(path, mapping: dict, *, grouping, rules, runner: Runner, cache: StageCache, log: StageLog,
          chunk_size: int, mapped: Path) -> Corpus:
    """The corpus and text stages (each from the cache or computed), as a Corpus. Before the text
    stage's workers start, the corpus stage's tables go to memory-mapped files in `mapped`
    (`map_from_disk`): from then on they are only read, and the workers count only the pages they
    read of them."""
    path = Path(path)
    if not path.exists():
        raise CorpusError(f"{path} does not exist; pass a folder with manifest.csv or an article table "
                          "(.csv, .jsonl, .parquet)")
    if not path.is_dir():
        table_kind(path)
        if not mapping["text_col"] or not mapping["outlet_col"]:
            raise CorpusError(f"{path}: an article table needs --text-col and --outlet-col (text_col=, outlet_col=)")
    corpus_tables = ("documents", "paragraphs", "cleaning_report")  # what the later stages read

    def to_disk(tables: dict):  # mapped while they are stored, or before the text stage's workers start
        _map_tables((tables[name] for name in corpus_tables if name in tables), mapped)

    corpus_key, tables = run_stage(cache, log, "corpus", _hash_inputs(path, mapping, rules),
                                   lambda: _compute_corpus(path, mapping, rules, runner, chunk_size, mapped),
                                   meanwhile=to_disk)
    _warn_exclusions(path, tables["exclusions"])
    documents = tables["documents"]
    if documents.empty:
        raise CorpusError(f"{path}: no usable document; see the reasons: "
                          + "; ".join(tables["exclusions"]["reason"]))
    documents["offset_map"] = _offset_maps_from_long(documents, tables["offset_maps"])
    paragraphs = tables["paragraphs"]

    def compute_text():
        to_disk(tables)
        chunks = document_chunks(documents[["doc_id", "clean_text"]], {"paragraphs": paragraphs}, chunk_size)
        parts = runner.map(_text_chunk, chunks, desc="sentences", size=_chunk_size, total=len(documents))
        return {"sentences": _combine(parts, "sentences", columns=SENTENCE_COLUMNS),
                "spans": _combine(parts, "spans", columns=SPAN_COLUMNS)}

    text_key, text = run_stage(cache, log, "text", {"corpus": corpus_key}, compute_text,
                               meanwhile=lambda text: _map_tables(text.values(), mapped))
    sentences = text["sentences"]
    documents["n_sentences"] = documents["doc_id"].map(sentences.groupby("doc_id").size()).fillna(0).astype(int)
    documents["group"] = apply_grouping(documents, grouping)
    return Corpus(documents, paragraphs, sentences, text["spans"], tables["cleaning_report"], tables["exclusions"],
                  str(path), keys={"corpus": corpus_key, "text": text_key}, stages_computed=list(log.computed))


def load_corpus(path, *, text_col=None, outlet_col=None, id_col=None, date_col=None, title_col=None,
                url_col=None, author_col=None, group_col=None, grouping=None, rules=None, cache_dir=None,
                engine="pandas", workers=1, scheduler=None, progress=None,
                chunk_size=DEFAULT_CHUNK_SIZE) -> Corpus:
    """Load a corpus: a folder of .txt with manifest.csv, or a CSV / JSONL / Parquet article table.

    Cleans each text with the boilerplate rules (`rules`: a CSV in the packaged format; default
    the packaged rules), marks syndicated copies, and splits sentences and voices. Anything left
    out is in `exclusions` (and warned about). A table's title column becomes the headline section
    (docs/architecture.md). Tables are read and processed `chunk_size` rows at a time, on the
    engine asked for (see `measure`); with `cache_dir`, the corpus and text stages are cached there.
    """
    mapping = {"text_col": text_col, "outlet_col": outlet_col, "id_col": id_col, "date_col": date_col,
               "title_col": title_col, "url_col": url_col, "author_col": author_col, "group_col": group_col}
    _check_chunk_size(chunk_size)
    with Runner(engine, workers, scheduler, progress) as runner:
        return _load(path, mapping, grouping=grouping, rules=rules, runner=runner, cache=StageCache(cache_dir),
                     log=StageLog(), chunk_size=chunk_size, mapped=Path(tempfile.gettempdir()))


def _check_chunk_size(chunk_size) -> None:
    if int(chunk_size) != chunk_size or chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size!r} must be a positive integer (documents per chunk)")


# --------------------------------------------------------------------------- measure

MEASURE_TABLES = ("matches", "sentence_scores", "estimates", "differences", "distinctive_terms", "actor_labels",
                  "attribution", "sourcing")
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


def _lexicon_files(lexicons) -> dict[str, str]:
    """sha256 of each lexicon file measure reads (the packaged ones by default)."""
    if lexicons is None:
        paths = sorted(measures.LEXICON_DIR.glob("*.csv"))
    else:
        paths = [lexicons] if isinstance(lexicons, (str, Path)) else list(lexicons)
    return {Path(p).name: file_sha256(p) for p in paths}


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


class Results(TableDict):
    """The result tables by name (a dict), with the corpus they came from and their provenance record.

    A table the run streamed to disk (the document estimates, with a cache or `out`) or read from
    the cache is read from its file the first time it is looked up, then held like the others
    (`frames.TableDict`); `held()` gives the tables as they are held, a `frames.StoredTable` for one
    not read yet. `stages_computed` / `stages_reused`: the pipeline stages this run computed and read
    from the cache; `stage_seconds`: the wall time of each (the benchmark reports it).
    """

    def __init__(self, tables: dict, *, corpus: Corpus, provenance: dict,
                 stages_computed=(), stages_reused=(), stage_seconds=None):
        super().__init__(tables)
        self.corpus = corpus
        self.provenance = provenance
        self.stages_computed = list(stages_computed)
        self.stages_reused = list(stages_reused)
        self.stage_seconds = dict(stage_seconds or {})


def _scores(sentences: pd.DataFrame, word_totals: pd.DataFrame, mask_words: list[str], runner: Runner,
            folder: Path | None = None) -> pd.DataFrame:
    """sentence_scores: VADER of each distinct sentence text once in the whole corpus (syndicated copies
    repeat sentences), in chunks; then each sentence's majority voice and section. With `folder`, the
    distinct texts wait there in a mapped file (`map_from_disk`) and each task makes Python strings of
    its own chunk only: not 2 million of them in this process, counted again in each forked worker."""
    at, distinct = pd.factorize(sentences["text"], use_na_sentinel=False)  # distinct, in order of first use
    distinct = pd.DataFrame({"text": pd.Series(distinct, copy=False)})
    if folder is not None:
        map_from_disk([(distinct, None)], folder)
    distinct = distinct["text"]
    chunks = [distinct.iloc[i:i + SCORE_CHUNK] for i in range(0, len(distinct), SCORE_CHUNK)]
    scored = _concat(runner.map(_vader_chunk, chunks, desc="sentiment", total=len(distinct), unit="sentence",
                                mask=mask_words),
                     ["compound", "pos", "neu", "neg", "compound_masked"])
    # Each sentence's majority voice, aligned with its row (`sentence_voices`: `sentence_voice` merged
    # on, found on integer keys); the scores of row i are those of sentence i, assigned by position.
    scores = sentences[["doc_id", "sentence_id", "section"]].reset_index(drop=True)
    scores["voice"] = measures.sentence_voices(sentences, word_totals).reset_index(drop=True)
    for column in scored.columns:
        scores[column] = scored[column].to_numpy(float)[at]
    scores["voice"] = scores["voice"].fillna("own")
    return scores[["doc_id", "sentence_id", "voice", "compound", "pos", "neu", "neg", "compound_masked", "section"]]


def _aggregate_task(task: tuple, **tables):
    """`_aggregate_piece` of one task. After a corpus-level task (a contrast, an actor, the estimates
    of all outlets or groups, a whole table: each reads whole columns) the heap's freed memory is
    handed back, so that the worker's next task starts from what is held rather than from this one's
    peak (at 100,000 articles, several hundred MB a worker)."""
    piece = _aggregate_piece(task, **tables)
    if task[0] not in ("rates", "sentiment") or task[-1] is None:
        release_freed_heap()
    return piece


def _aggregate_piece(task: tuple, *, counts, word_totals, scores, terms, doc_units, actor_rows, categories,
                    matches, spans, mentions, n_boot, n_perm, seed, dedup, alpha_0, sums=None, term_sums=None,
                    parts_folder=None, masked_twin=False, tables_folder=None):
    """One independent piece of the corpus-level step, as rows of estimates, differences or
    distinctive_terms. Each is deterministic (bootstrap and permutation draws are keyed by unit and
    contrast), so the engine that runs it cannot change it.

    ("rates" | "sentiment", unit_type, unit_col, n_boot, score_col, part): estimates of a unit type;
    part (document units only) holds a chunk of documents' rows of doc_units, counts, word_totals and
    scores (cut once, not filtered per task), each document's estimate depending on its own rows alone. ("actor", name): sentiment of the sentences naming an actor, per
    outlet and group. ("difference" | "distinctive", group_a, group_b): a contrast. ("actor_labels",),
    ("attribution",), ("sourcing",): those tables whole. `actor_rows` (`_actor_rows`): each actor's rows
    of scores.

    `sums` (`compare.document_sums` of these tables): what the outlet and group estimates and the
    contrasts read instead of the row tables; `term_sums` (`compare.group_term_sums`, or None): what
    the distinctive terms read instead of the term counts.

    With `parts_folder`, a rates or sentiment task's rows come back as an `ArrowPart` in a file there;
    with `masked_twin` too, a plain sentiment task's as (plain, masked twin): the same rows under
    the `_masked` measure names, for an empty mask. With `tables_folder`, a whole table (actor_labels,
    attribution, sourcing) comes back as the `StoredTable` of its Parquet file there.
    """
    kind, options = task[0], {"seed": seed, "dedup": dedup}
    if kind == "attribution" and tables_folder:
        return _attribution_file(matches, spans, Path(tables_folder))
    if kind in ("actor_labels", "attribution", "sourcing"):
        table = (actors_mod.actor_labels(mentions, doc_units) if kind == "actor_labels" else
                 actors_mod.attribution_verbs(matches, spans) if kind == "attribution" else
                 actors_mod.sourcing(doc_units, spans, word_totals, matches))
        release_mapped_pages()  # the pages read of the mapped tables are done with before the file is made
        return stored_parquet(table, Path(tables_folder) / f"{kind}.parquet") if tables_folder else table
    if kind in ("rates", "sentiment"):
        _, unit_type, unit_col, boot, score_col, part = task
        if part is not None:
            doc_units, counts, word_totals, scores = (part[k] for k in ("doc_units", "counts", "word_totals", "scores"))
        if kind == "rates":
            # a chunk of documents reports the corpus's (lexicon, category) pairs, as the whole would
            rows = compare.estimate_rates(counts, word_totals, doc_units, unit_type=unit_type, unit_col=unit_col,
                                          n_boot=boot, categories=categories if part is not None else None,
                                          sums=sums["rates"] if part is None and sums else None, **options)
            return arrow_part(rows, parts_folder) if parts_folder else rows
        rows = compare.estimate_sentiment(scores, doc_units, unit_type=unit_type, unit_col=unit_col, n_boot=boot,
                                          score_col=score_col, sums=sums[score_col] if part is None and sums else None,
                                          **options)
        rows = rows.assign(measure=rows["measure"] + ("_masked" if score_col == "compound_masked" else ""))
        if not parts_folder:
            return rows
        if masked_twin and score_col == "compound":
            return (arrow_part(rows, parts_folder),
                    arrow_part(rows.assign(measure=rows["measure"] + "_masked"), parts_folder))
        return arrow_part(rows, parts_folder)
    if kind == "actor":
        # The actor's sentences' rows of scores, in their order (what a merge on doc_id and sentence_id keeps).
        subset = scores.take(actor_rows[task[1]]).reset_index(drop=True)
        parts = [compare.estimate_sentiment(subset, doc_units, unit_type=unit, unit_col=unit, n_boot=n_boot, **options)
                 for unit in ("outlet", "group")]
        return pd.concat([p.assign(lexicon=actors_mod.ACTOR_LEXICON, category=task[1]) for p in parts],
                         ignore_index=True)
    if kind == "difference":
        return compare.group_differences(counts, word_totals, scores, doc_units, group_col="group", group_a=task[1],
                                         group_b=task[2], n_boot=n_boot, n_perm=n_perm, sums=sums, **options)
    return compare.distinctive_terms(terms, doc_units, group_col="group", group_a=task[1], group_b=task[2],
                                     alpha_0=alpha_0, dedup=dedup, sums=term_sums)


def _attribution_file(matches: pd.DataFrame, spans: pd.DataFrame, folder: Path) -> StoredTable:
    """The attribution table (`actors.attribution_verbs`) written to its Parquet file in `folder`,
    ATTRIBUTION_ROWS rows of matches at a time (`SpilledParts`: the bytes `write_parquet` makes of
    the whole table), the pages read of the mapped matches handed back after each block: neither the
    table (1.9 million rows at 100,000 articles) nor the pages of most of the matches' columns are
    held at once. Blocks without rows are left out, as a join of chunks leaves them out."""
    spilled = SpilledParts(folder / "attribution-parts", folder / "attribution.parquet")
    added, empty = 0, None
    try:
        for block in actors_mod.attribution_verbs_in_blocks(matches, spans, ATTRIBUTION_ROWS):
            if len(block):
                spilled.add(added, block)
                added += 1
            elif empty is None:
                empty = block
            release_mapped_pages()
        if not added:
            spilled.add(0, empty)
            added = 1
        return spilled.finish(added)
    except BaseException:
        spilled.discard()
        raise


def _document_parts(doc_ids: list, chunk_size: int, *, folder=None, **tables: pd.DataFrame) -> list[dict]:
    """The tables' rows cut into chunks of `chunk_size` documents of doc_ids (in that order); rows keep
    their order within a chunk. Each table is put in chunk order once (not copied where it is in that
    order already) and the chunks are slices of it, not copies; with `folder`, a table put in order is
    handed to memory-mapped files there (`map_from_disk`), as a forked worker reads only its chunks."""
    chunk_of = pd.Series(np.arange(len(doc_ids)) // chunk_size, index=doc_ids)
    n_parts = -(-len(doc_ids) // chunk_size)
    parts = [{} for _ in range(n_parts)]
    for name, table in tables.items():
        chunk = looked_up_by_runs(table["doc_id"], chunk_of)
        if (np.diff(chunk) < 0).any():
            order = np.argsort(chunk, kind="stable")
            table, chunk = table.take(order), chunk[order]
            if folder is not None:
                map_from_disk([(table, None)], folder)
        bounds = np.searchsorted(chunk, np.arange(n_parts + 1))
        for i, part in enumerate(parts):
            part[name] = table.iloc[bounds[i]:bounds[i + 1]]
    return parts


def _map_tables(tables, folder: Path) -> None:
    """Every column of the tables (DataFrames; a StoredTable is a file already) that can be, to
    memory-mapped files in `folder` (`frames.map_from_disk`)."""
    map_from_disk([(table, None) for table in tables if isinstance(table, pd.DataFrame)], folder)


def _spread(light: list[int], heavy: list[int]) -> list[int]:
    """`light` with the `heavy` items placed evenly among them, in their order: as many light items
    (give or take one) before the first heavy one, between two and after the last."""
    order = list(light)
    for k, i in enumerate(heavy):
        order.insert(len(light) * (k + 1) // (len(heavy) + 1) + k, i)
    return order


def _group_term_sums(terms: pd.DataFrame, doc_units: pd.DataFrame, *, dedup: str) -> compare.GroupTermSums | None:
    """`compare.group_term_sums` of the term counts by group (the distinctive terms' voice and sections),
    TERM_SUM_ROWS rows at a time, the pages read of the mapped table handed back after each block: the
    contrasts then read these sums, not every row each, and this process does not carry the pages
    into the workers it forks next."""
    total = None
    for start in range(0, len(terms), TERM_SUM_ROWS):
        block = compare.group_term_sums(terms.iloc[start:start + TERM_SUM_ROWS], doc_units, group_col="group",
                                        dedup=dedup)
        if block is None:
            return None
        total = block if total is None else total + block
        release_mapped_pages()
    return total


def _actor_rows(scores: pd.DataFrame, actor_sentences: pd.DataFrame, doc_ids: list) -> dict[str, np.ndarray]:
    """Each actor's rows of scores (positions, ascending): the sentences `actors.actor_sentences`
    gives it, found on integer (document, sentence) keys for every actor at once, rather than by a merge
    on the doc_id text over every sentence in each actor's task. The rows `scores.merge(its
    sentences, on=["doc_id", "sentence_id"])` keeps, in that order: its sentences are distinct, and
    so are the scores' keys."""
    code_of = pd.Series(np.arange(len(doc_ids)), index=doc_ids)
    score_ids, actor_ids = (t["sentence_id"].to_numpy(np.int64) for t in (scores, actor_sentences))
    stride = int(max(score_ids.max(initial=0), actor_ids.max(initial=0))) + 1
    score_keys = looked_up_by_runs(scores["doc_id"], code_of) * stride + score_ids
    actor_keys = looked_up_by_runs(actor_sentences["doc_id"], code_of) * stride + actor_ids
    # Every actor's keys looked up in the scores' keys at once (not once an actor).
    at = positions(score_keys, actor_keys)
    actors = actor_sentences["actor"].to_numpy(object)
    found = at >= 0
    rows, found_actors = at[found], actors[found]
    return {actor: np.sort(rows[found_actors == actor]) for actor in sorted(pd.unique(actors))}


def _aggregates(docs, spans, matches, word_totals, terms, scores, mentions, *, runner: Runner, chunk_size: int, pair,
                dedup, alpha_0, seed, n_boot, n_perm, doc_intervals, spill: Path | None = None,
                mapped: Path | None = None) -> dict:
    """The corpus-level step: estimates, differences and distinctive terms from the combined counts,
    as independent tasks on the engine (`_aggregate_task`), joined in a fixed order. With `spill` (a
    folder), each part of the estimates is written there as it arrives and the estimates become one
    Parquet file (a `StoredTable`), never whole in memory; the table is the same."""
    # Documents without a group stay in doc_units: the contrasts leave them out (with a warning), the
    # log-odds prior (the whole corpus) keeps them.
    doc_units = docs[["doc_id", "outlet", "group"]].assign(exclude_body=docs["duplicate_of"] != "")
    counts = measures.match_counts(matches)
    # What only this step reads goes to mapped files too (`mapped`: where, or None), so that the forked
    # workers do not each count it again.
    if mapped is not None:
        map_from_disk([(counts, None)], mapped)
    release_mapped_pages()  # the pages read of the matches: the steps below read counts instead
    # With an empty mask (the default) the masked compound is the compound: its estimates are the plain
    # ones under the `_masked` measure names (same values, same keyed draws), not computed twice.
    masked_is_plain = np.array_equal(scores["compound_masked"].to_numpy(float).view(np.uint64),
                                     scores["compound"].to_numpy(float).view(np.uint64))  # bit for bit
    # The outlet and group estimates and the contrasts read per-document sums, built here once (a few
    # numbers a document), not the row tables each task would otherwise read and sum again.
    sums = compare.document_sums(counts, word_totals, scores, doc_units, dedup=dedup,
                                 score_cols=["compound"] if masked_is_plain else ["compound", "compound_masked"])
    if mapped is not None:
        sums = {name: s.with_arrays(map_arrays_from_disk(s.arrays(), mapped)) for name, s in sums.items()}
    release_mapped_pages()  # this process's pages of the mapped tables: read again only where a step needs them
    term_sums = _group_term_sums(terms, doc_units, dedup=dedup)
    doc_ids = sorted(doc_units["doc_id"], key=str)  # document estimates come in this order
    doc_parts = _document_parts(doc_ids, chunk_size, folder=mapped, doc_units=doc_units, counts=counts,
                                word_totals=word_totals, scores=scores)
    estimate_tasks, twin_of = [], {}  # twin_of: masked task -> its plain twin (positions in estimate_tasks)
    for unit_type, unit_col in (("document", "doc_id"), ("outlet", "outlet"), ("group", "group")):
        boot = n_boot if unit_type != "document" or doc_intervals else 0
        unit_parts = doc_parts if unit_type == "document" else [None]
        for kind, score_col in (("rates", None), ("sentiment", "compound"), ("sentiment", "compound_masked")):
            if score_col == "compound":
                plain_start = len(estimate_tasks)
            elif score_col == "compound_masked" and masked_is_plain:
                twin_of.update({len(estimate_tasks) + k: plain_start + k for k in range(len(unit_parts))})
            estimate_tasks += [(kind, unit_type, unit_col, boot, score_col, part) for part in unit_parts]
    actor_rows = _actor_rows(scores, actors_mod.actor_sentences(mentions), doc_ids)
    estimate_tasks += [("actor", actor) for actor in sorted(actor_rows)]
    groups = sorted(doc_units["group"].dropna().unique(), key=str)
    difference_tasks = [("difference", g, compare.REST) for g in groups] if len(groups) > 1 else []
    distinctive_tasks = [("distinctive", g, compare.REST) for g in groups]
    if pair:
        difference_tasks.append(("difference", *pair))
        distinctive_tasks.append(("distinctive", *pair))
    n_differences, n_distinctive = len(difference_tasks), len(distinctive_tasks)
    table_tasks = [("actor_labels",), ("attribution",), ("sourcing",)]
    tasks = difference_tasks + distinctive_tasks + estimate_tasks + table_tasks
    first = n_differences + n_distinctive  # position of the first estimate task
    # The contrasts (permutation tests over every document) take longest: they start first. The whole
    # tables (attribution and sourcing each read most of the matches) are spread among the estimate
    # tasks, most of them light, rather than run side by side at the end, where two of them at once
    # made the aggregates' peak. The results are joined by position, so the order changes no table.
    run = list(range(first))
    estimates = [i for i in range(first, len(tasks) - len(table_tasks)) if i - first not in twin_of]
    tables = [len(tasks) - len(table_tasks) + k for k in (1, 2, 0)]  # attribution, sourcing, actor labels
    run += _spread(estimates, tables)
    twins = {}  # plain estimate position -> the masked positions that repeat it
    for masked, plain in twin_of.items():
        twins.setdefault(plain, []).append(masked)
    parts_on_disk = SpilledParts(spill / "parts", spill / "estimates.parquet") if spill is not None else None

    # Worker processes of this machine write their estimates parts (and masked twins) to files there
    # themselves (`ArrowPart`), rather than pickling them to this process to convert and spill.
    parts_folder = (str(parts_on_disk.folder) if parts_on_disk is not None and runner.engine == "pandas"
                    and runner.workers > 1 else None)
    tables_folder = str(spill) if parts_folder else None  # the whole tables' Parquet files, likewise

    def keep(i: int, part):
        """An estimates part goes to disk (with its masked twin) when spilling; the rest is kept."""
        position = run[i] - first
        if parts_on_disk is None or not 0 <= position < len(estimate_tasks):
            return part
        plain, twin = part if isinstance(part, tuple) else (part, None)
        parts_on_disk.add(position, plain)
        for masked in twins.get(position, ()):
            parts_on_disk.add(masked, twin if twin is not None else plain.assign(measure=plain["measure"] + "_masked"))
        return None

    categories = list(counts[["lexicon", "category"]].drop_duplicates().itertuples(index=False, name=None))
    try:
        done = runner.map(_aggregate_task, [tasks[i] for i in run], desc="aggregates", size=lambda _: 1,
                          total=len(run), unit="task", keep=keep, counts=counts, word_totals=word_totals,
                          scores=scores, terms=terms, doc_units=doc_units, actor_rows=actor_rows,
                          categories=categories, sums=sums, term_sums=term_sums, matches=matches, spans=spans, mentions=mentions,
                          n_boot=n_boot, n_perm=n_perm, seed=seed, dedup=dedup, alpha_0=alpha_0, parts_folder=parts_folder,
                          masked_twin=masked_is_plain, tables_folder=tables_folder)
    except BaseException:
        if parts_on_disk is not None:
            parts_on_disk.discard()
        raise
    parts = dict(zip(run, done))
    del done
    if parts_on_disk is None:
        for masked, plain in twin_of.items():
            part = parts[first + plain]
            parts[first + masked] = part.assign(measure=part["measure"] + "_masked")
        estimates = pd.concat([parts[first + k] for k in range(len(estimate_tasks))], ignore_index=True)
    else:
        estimates = parts_on_disk.finish(len(estimate_tasks))
    parts = [parts.get(i) for i in range(len(tasks))]
    labels, attribution, sourcing = parts[len(parts) - len(table_tasks):]
    tables = {
        "estimates": estimates,
        "differences": pd.concat(parts[:n_differences], ignore_index=True) if n_differences else
        pd.DataFrame(columns=compare.DIFFERENCE_COLUMNS),
        "distinctive_terms": pd.concat(parts[n_differences:first], ignore_index=True) if n_distinctive else
        pd.DataFrame(columns=compare.DISTINCTIVE_COLUMNS),
    }
    del parts, estimates  # so that joining a column's chunks frees them (`contiguous`)
    return {**{name: table if isinstance(table, StoredTable) else contiguous(table) for name, table in tables.items()},
            "actor_labels": labels, "attribution": attribution, "sourcing": sourcing}


def measure(corpus_or_path, *, out=None, lexicons=None, grouping=None, group_a=None, group_b=None,
            dedup="drop_copies", mask=None, actors=None, alpha_0=None, seed=0, engine="pandas", workers=1,
            n_boot=2000, n_perm=10000, doc_intervals=False, fmt="csv", cache_dir=None, scheduler=None,
            progress=None, chunk_size=DEFAULT_CHUNK_SIZE, text_col=None, outlet_col=None, id_col=None,
            date_col=None, title_col=None, url_col=None, author_col=None, group_col=None,
            rules=None) -> Results:
    """Every measure of a corpus: matches, sentence scores, estimates, differences, distinctive terms,
    actor labels, attribution verbs and sourcing.

    Estimates are per document (intervals only with doc_intervals=True), outlet and group; each group
    is contrasted with the rest, plus group_a against group_b when given. With `out`, the tables are
    written there (CSV, or Parquet with fmt="parquet") with `provenance.json`. The returned
    `Results` is a dict of the tables that also carries `.corpus` and `.provenance`.

    A path is loaded as `load_corpus` does (the column mapping and `rules` apply to it). Engines:
    engine="pandas" runs the document-local steps in this process, or with workers=N in N
    processes; engine="dask" on the cluster at `scheduler` (address or distributed.Client), else on
    a LocalCluster of `workers` processes. Results are the same on every engine. With `cache_dir`,
    each stage is cached there and reused while its inputs are unchanged (docs/scaling.md).
    """
    if dedup not in compare.DEDUP:
        raise ValueError(f"dedup={dedup!r} is not one of {list(compare.DEDUP)}")
    if engine not in ENGINES:
        raise ValueError(f"engine={engine!r} is not available; choose one of {list(ENGINES)}")
    _check_chunk_size(chunk_size)
    mapping = {"text_col": text_col, "outlet_col": outlet_col, "id_col": id_col, "date_col": date_col,
               "title_col": title_col, "url_col": url_col, "author_col": author_col, "group_col": group_col}
    if isinstance(corpus_or_path, Corpus) and (any(mapping.values()) or rules is not None):
        raise ValueError("the column mapping and rules apply when loading a path; this corpus is already loaded")
    cache, log = StageCache(cache_dir), StageLog()
    # Where the estimates stream while they are computed: the cache (their entry keeps them), else `out`.
    out = Path(out).resolve() if out is not None else None
    out_existed = out is not None and out.exists()
    spill = cache.scratch() or (out / f".framing-lens-tmp-{uuid.uuid4().hex[:12]}" if out is not None else None)
    done = False
    try:
        with Runner(engine, workers, scheduler, progress) as runner:
            if isinstance(corpus_or_path, Corpus):
                corpus = corpus_or_path
                if grouping is not None:
                    corpus.documents["group"] = apply_grouping(corpus.documents, grouping)
            else:
                corpus = _load(corpus_or_path, mapping, grouping=grouping, rules=rules, runner=runner, cache=cache,
                               log=log, chunk_size=chunk_size, mapped=Path(spill or tempfile.gettempdir()))
            results = _measure(corpus, runner, cache, log, lexicons=lexicons, grouping=grouping, group_a=group_a,
                               group_b=group_b, dedup=dedup, mask=mask, actors=actors, alpha_0=alpha_0, seed=seed,
                               n_boot=n_boot, n_perm=n_perm, doc_intervals=doc_intervals, chunk_size=chunk_size,
                               spill=spill)
        if out is not None:
            paths = write_tables({**corpus.tables(), **results.held()}, out, fmt=fmt, cache=cache)
            (out / "provenance.json").write_text(json.dumps(results.provenance, indent=2, sort_keys=True) + "\n")
            _keep_stored_tables(results, dict(zip(results.held(), paths[len(corpus.tables()):])), spill, fmt)
        done = True
    finally:
        if spill is not None:
            shutil.rmtree(spill, ignore_errors=True)
        if not done and out is not None and not out_existed:
            shutil.rmtree(out, ignore_errors=True)  # made by this run, which failed: no partial output
    return results


def _keep_stored_tables(results: Results, written: dict[str, Path], spill: Path | None, fmt: str) -> None:
    """A stored table whose file is in the temporary `spill` folder (no cache) now names its Parquet
    output, or with CSV output is read into memory, before that folder goes."""
    for name, table in results.held().items():
        if isinstance(table, StoredTable) and spill is not None and spill in table.path.parents:
            if fmt == "parquet":
                dict.__setitem__(results, name, table.moved_to(written[name]))
            else:
                _ = results[name]  # read now, while the file exists


def _measure(corpus: Corpus, runner: Runner, cache: StageCache, log: StageLog, *, lexicons, grouping, group_a,
             group_b, dedup, mask, actors, alpha_0, seed, n_boot, n_perm, doc_intervals, chunk_size,
             spill=None) -> Results:
    docs, sentences, spans = corpus.documents, corpus.sentences, corpus.spans
    pair = _check_groups(docs["group"], group_a, group_b)
    lexicon_table = measures.load_lexicons(lexicons)
    actor_table = actors_mod.load_actors(actors)
    mask_words = _mask_words(mask)
    measures.score_sentences_masked(sentences.iloc[0:0], mask_words)  # checks the mask words
    text_key = corpus.text_key()
    # Before a stage's workers start, the tables made so far go to memory-mapped files: past that they
    # are only read, and the forked workers count only the pages they read of them (docs/scaling.md).
    # A run whose stages all come from the cache maps nothing.
    folder = Path(spill or tempfile.gettempdir())
    made = [docs, corpus.paragraphs, sentences, spans]
    stages = []  # each stage's TableDict so far
    # A stage read from the cache decodes its tables when first looked up: once any later stage is
    # computed, all of them (`hand_to_disk`), so that they are mapped before that stage's workers
    # fork; when every later stage is cached too, only the tables an output or a user looks up.

    def hand_to_disk():
        _map_tables([*made, *(table for stage in stages for table in stage.values())], folder)

    def to_disk(tables: dict):  # a computed stage's tables, mapped while the cache stores them
        _map_tables(tables.values(), folder)

    chunks = []  # cut when a stage first needs them (not at all when every stage is cached)

    def each(fn, desc, **shared):
        hand_to_disk()
        if not chunks:
            chunk_docs = docs[["doc_id", "clean_text", "offset_map"]].assign(
                title_prefix=docs.get("title_prefix", 0))
            chunks[:] = document_chunks(chunk_docs, {"sentences": sentences, "spans": spans}, chunk_size)
        return runner.map(fn, chunks, desc=desc, size=_chunk_size, total=len(docs), **shared)

    def compute_words():
        parts = each(_words_chunk, "words")
        return {"word_totals": _combine(parts, "word_totals", sort=["doc_id"]),
                "term_counts": _combine(parts, "term_counts", sort=["doc_id", "term", "voice", "section"])}

    def compute_matches():
        parts = each(_matches_chunk, "matches", matcher=measures.compile_matcher(lexicon_table))
        return {"matches": _combine(parts, "matches", sort=["doc_id", "start", "lexicon", "end"],
                                    columns=measures.MATCHES_COLUMNS)}

    def compute_actors():
        parts = each(_actors_chunk, "actors", actors=actor_table)
        return {"mentions": _combine(parts, "mentions", sort=["doc_id", "start", "end"])}

    words_key, words = run_stage(cache, log, "words", {"text": text_key}, compute_words, meanwhile=to_disk)
    stages.append(words)
    matches_key, found = run_stage(cache, log, "matches", {"text": text_key, "lexicons": _lexicon_files(lexicons)},
                                   compute_matches, meanwhile=to_disk)
    stages.append(found)
    actors_key, mentions = run_stage(cache, log, "actors",
                                     {"text": text_key, "actors": file_sha256(actors or actors_mod.DEFAULT_ACTORS)},
                                     compute_actors, meanwhile=to_disk)
    stages.append(mentions)
    # The chunks (a second copy of the sentences and spans) are not needed by the later stages: held,
    # they would sit under the aggregates' peak and in every forked worker's resident memory.
    chunks.clear()

    def compute_scores():
        hand_to_disk()
        return {"sentence_scores": _scores(sentences, words["word_totals"], mask_words, runner, folder)}
    scores_inputs = {"text": text_key, "words": words_key, "mask": mask_words,
                     "vader": metadata.version("vaderSentiment")}
    scores_key, scores = run_stage(cache, log, "scores", scores_inputs, compute_scores, meanwhile=to_disk)
    stages.append(scores)
    params = {"grouping": _grouping_label(grouping, docs), "group_a": group_a, "group_b": group_b, "dedup": dedup,
              "mask": mask_words, "alpha_0": alpha_0, "seed": seed, "n_boot": n_boot, "n_perm": n_perm,
              "doc_intervals": doc_intervals}
    # What the aggregates read of the documents: each one's outlet, group (under this grouping) and copy
    # status, hashed, so a grouping given as a file, a column or a Corpus's own groups all count.
    units = docs[["doc_id", "outlet", "group", "duplicate_of"]]
    aggregate_inputs = {"words": words_key, "matches": matches_key, "actors": actors_key, "scores": scores_key,
                        "units": hashlib.sha256(pd.util.hash_pandas_object(units, index=False).to_numpy()
                                                .tobytes()).hexdigest(),
                        **{k: v for k, v in params.items() if k not in ("grouping", "mask")}}

    def compute_aggregates():
        hand_to_disk()
        return _aggregates(docs, spans, found["matches"], words["word_totals"], words["term_counts"],
                           scores["sentence_scores"], mentions["mentions"], runner=runner, chunk_size=chunk_size,
                           pair=pair, dedup=dedup, alpha_0=alpha_0, seed=seed, n_boot=n_boot, n_perm=n_perm,
                           doc_intervals=doc_intervals, spill=spill, mapped=folder)

    _, aggregates = run_stage(cache, log, "aggregates", aggregate_inputs, compute_aggregates)
    tables = {"matches": found.held()["matches"], "sentence_scores": scores.held()["sentence_scores"],
              **aggregates.held()}
    tables = {name: tables[name] for name in MEASURE_TABLES}
    record = provenance_record(corpus, lexicon_table, actor_table, params)
    return Results(tables, corpus=corpus, provenance=record, stages_computed=log.computed, stages_reused=log.reused,
                   stage_seconds=log.seconds)
