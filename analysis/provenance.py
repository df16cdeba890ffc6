"""Content hashes that identify inputs and results (the contract's provenance rules).

No git hash and no wall-clock time: a result is named by what went into it.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

__version__ = "0.1.0"

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    return sha256_bytes(Path(path).read_bytes())


def file_version(path: str | Path) -> str:
    """A data file's version: the first 12 hex digits of its sha256."""
    return file_sha256(path)[:12]


def canonical_json(value) -> str:
    """JSON with sorted keys and no spaces, so equal parameters give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


CORPUS_HASH_BATCH = 8192  # pairs joined at once: a few MB of text, not the corpus


def corpus_hash(doc_ids, clean_texts) -> str:
    """sha256 over the sorted (doc_id, clean text) pairs of a corpus: each pair's UTF-8 bytes as
    doc_id, NUL, text, NUL, in the order Python sorts the pairs.

    Sorted and joined in Arrow, a batch of pairs at a time (UTF-8 bytes sort as the code points
    Python compares), rather than pair by pair in Python: at 100,000 articles a re-run on the cache
    spent 1.5 of its 11 seconds here. Texts that are not all strings take the Python loop."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = pa.array([str(doc_id) for doc_id in doc_ids], type=pa.large_string())
    try:
        texts = pa.array(clean_texts, type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        texts = None
    if texts is None or texts.null_count:
        return _corpus_hash_in_python(ids.to_pylist(), clean_texts)
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    order = pc.sort_indices(pa.table({"doc_id": ids, "text": texts}),
                            sort_keys=[("doc_id", "ascending"), ("text", "ascending")])
    empty, nul = pa.scalar("", pa.large_string()), pa.scalar("\0", pa.large_string())
    digest = hashlib.sha256()
    for start in range(0, len(order), CORPUS_HASH_BATCH):
        rows = order.slice(start, CORPUS_HASH_BATCH)
        joined = pc.binary_join_element_wise(ids.take(rows), texts.take(rows), empty, nul)  # doc_id NUL text NUL
        _, offsets, data = joined.buffers()
        offsets = np.frombuffer(offsets, dtype=np.int64)[joined.offset:joined.offset + len(joined) + 1]
        digest.update(memoryview(data)[offsets[0]:offsets[-1]])
    return digest.hexdigest()


def _corpus_hash_in_python(doc_ids, clean_texts) -> str:
    """`corpus_hash` pair by pair (texts that Arrow cannot hold as strings: it fails as Python does)."""
    digest = hashlib.sha256()
    for doc_id, text in sorted(zip(map(str, doc_ids), clean_texts)):
        digest.update(doc_id.encode("utf-8") + b"\0" + text.encode("utf-8") + b"\0")
    return digest.hexdigest()


@lru_cache(maxsize=1)
def code_hash() -> str:
    """sha256 prefix over the package's source and data files (paths and bytes, sorted).

    Changes whenever code, lexicons or rules change; never derived from git.
    """
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".csv", ".yaml", ".yml", ".json", ".txt"} \
                and "__pycache__" not in path.parts:
            digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def keyed_rng(seed: int, *key):
    """A numpy Generator seeded by sha256 of (seed, key): stable across runs and processes (unlike
    hash()) and independent of which other keys are drawn, so order and partitioning never change it."""
    import numpy as np

    digest = hashlib.sha256(json.dumps([seed, *map(str, key)]).encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))
