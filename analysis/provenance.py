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


def corpus_hash(doc_ids, clean_texts) -> str:
    """sha256 over the sorted (doc_id, clean text) pairs of a corpus."""
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
