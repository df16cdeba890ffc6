"""On-disk cache of pipeline stages: Parquet tables under a content key, written atomically.

An entry is a folder `<cache_dir>/<stage>/<key>/` with one Parquet file per table and a
`manifest.json` (written last) that lists each file's sha256, size, rows and column dtypes. The
entry is built in a temporary folder and renamed into place, so an interrupted run leaves no
entry, only a temporary folder that is never read. A table the stage streamed to a file (a
`frames.StoredTable`) is moved into the entry and listed as `stored`. An entry is read lazily: its
tables come back as StoredTables in a `frames.TableDict`, each decoded the first time it is looked
up, so a run whose later stages are cached too never decodes what only those stages read. An entry
whose manifest is missing or whose files do not match it is removed and rebuilt, never read. The
key is the sha256 of the stage's inputs (see `stage_key`); docs/scaling.md describes the stages.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
import warnings
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from analysis.engine import release_freed_memory
from analysis.frames import StoredTable, TableDict, write_parquet_files
from analysis.provenance import PACKAGE_DIR, __version__, canonical_json

CACHE_FORMAT = 1
MANIFEST = "manifest.json"
logger = logging.getLogger(__name__)

# The modules each stage runs, besides pipeline.py (every stage's glue) and the packaged data files;
# `stage_code` follows their imports within the package. A change anywhere else (plots, figures,
# notebooks, write-ups, the benchmark, the command line) recomputes nothing.
STAGE_MODULES = {
    "corpus": ("corpus", "tables", "engine", "cache"),
    "text": ("corpus", "tables", "engine", "cache", "text"),
    "words": ("engine", "cache", "text", "measures"),
    "matches": ("engine", "cache", "text", "measures"),
    "actors": ("engine", "cache", "text", "measures", "actors"),
    "scores": ("engine", "cache", "text", "measures"),
    "aggregates": ("engine", "cache", "measures", "actors", "compare"),
}


def _package_imports(module: str) -> set[str]:
    """The package modules `module` imports (at any depth of its code: functions import too)."""
    return set(_imports_in_source(module, _source_digest(f"{module}.py")))


@functools.cache
def _imports_in_source(module: str, digest: str) -> frozenset[str]:
    """`_package_imports` of one version of the module's source (by its sha256): parsed once per process."""
    tree = ast.parse((PACKAGE_DIR / f"{module}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "analysis":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("analysis."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("analysis."))
    return frozenset(m for m in found if (PACKAGE_DIR / f"{m}.py").is_file())


def stage_modules(stage: str) -> tuple[str, ...]:
    """pipeline plus the stage's modules and everything they import from the package, sorted."""
    todo, seen = list(STAGE_MODULES[stage]), {"pipeline"}
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(_package_imports(module))
    return tuple(sorted(seen))


def _source_digest(relative: str) -> str:
    return hashlib.sha256((PACKAGE_DIR / relative).read_bytes()).hexdigest()


def stage_code(stage: str) -> str:
    """sha256 prefix over the stage's modules (`stage_modules`) and every packaged data file."""
    data = sorted(p.relative_to(PACKAGE_DIR).as_posix() for p in PACKAGE_DIR.rglob("*")
                  if p.is_file() and p.suffix != ".py" and "__pycache__" not in p.parts)
    files = [f"{m}.py" for m in stage_modules(stage)] + data
    return hashlib.sha256(canonical_json({f: _source_digest(f) for f in files}).encode()).hexdigest()[:12]


def stage_key(stage: str, inputs: dict) -> str:
    """sha256 of a stage's name, its inputs (file hashes, parameters, upstream keys), the package
    version and the stage's code (`stage_code`; canonical JSON, so equal inputs give an equal key)."""
    record = {"stage": stage, "inputs": inputs, "package_version": __version__, "code": stage_code(stage),
              "cache_format": CACHE_FORMAT}
    return hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class StageLog:
    """Which stages a run computed and which it read from the cache, in order."""

    computed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each stage, read or computed


class StageCache:
    """Stage tables on disk (`root=None`: no cache, every stage is computed)."""

    def __init__(self, root: str | Path | None):
        self.root = Path(root).resolve() if root is not None else None  # files stay found after a chdir
        self._files: dict[int, tuple[weakref.ref, Path, list[str], int]] = {}

    def file_of(self, table: pd.DataFrame) -> Path | None:
        """The cache file this run stored `table` (this very object) in or read it from, while it has
        the columns and rows it had then: that file holds the bytes `frames.write_parquet` makes of it,
        so a Parquet output can be a copy. None for any other table."""
        entry = self._files.get(id(table))
        if entry is None or entry[0]() is not table or list(table.columns) != entry[2] or len(table) != entry[3]:
            return None
        return entry[1]

    def _remember(self, table: pd.DataFrame, path: Path) -> None:
        self._files[id(table)] = (weakref.ref(table), path, list(table.columns), len(table))

    def entry(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def scratch(self) -> Path | None:
        """A new temporary folder in the cache (None without a cache), for tables a stage streams to
        disk before its entry is stored; it is never read as an entry."""
        if self.root is None:
            return None
        return self.root / f".scratch-{uuid.uuid4().hex[:12]}"

    def load(self, stage: str, key: str) -> TableDict | None:
        """The stage's tables if a complete, intact entry exists (each file's size, checksum, rows and
        columns as listed), each read when first looked up; a damaged entry is removed (None)."""
        if self.root is None:
            return None
        folder = self.entry(stage, key)
        if not folder.exists():
            return None
        try:
            return self._read(folder, stage, key)
        except Exception as exc:  # noqa: BLE001 - any damage means: rebuild, never read
            warnings.warn(f"cache entry {stage}/{key[:12]} is damaged ({exc}); it is removed and rebuilt",
                          stacklevel=3)
            shutil.rmtree(folder, ignore_errors=True)
            return None

    def _read(self, folder: Path, stage: str, key: str) -> TableDict:
        manifest_path = folder / MANIFEST
        if not manifest_path.is_file():
            raise ValueError("no manifest (an interrupted write)")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("stage") != stage or manifest.get("key") != key or manifest.get("format") != CACHE_FORMAT:
            raise ValueError("its manifest names another stage, key or format")
        tables = TableDict(reader=self._read_table)
        for name, info in manifest["tables"].items():
            path = folder / info["file"]
            if path.stat().st_size != info["bytes"]:
                raise ValueError(f"{info['file']} has {path.stat().st_size} bytes, the manifest says {info['bytes']}")
            if _file_sha256(path) != info["sha256"]:
                raise ValueError(f"{info['file']} does not match its checksum")
            file = pq.ParquetFile(path)
            if file.metadata.num_rows != info["rows"] or file.schema_arrow.names != info["columns"]:
                raise ValueError(f"{info['file']} does not have the rows and columns the manifest lists")
            tables[name] = StoredTable.at(path, info["rows"], info["columns"], info["dtypes"])
        return tables

    def _read_table(self, stored: StoredTable) -> pd.DataFrame:
        """A table of an entry, read when first looked up; remembered as held in its file (`file_of`)."""
        table = stored.read()
        self._remember(table, stored.path)
        return table

    def store(self, stage: str, key: str, tables: dict, inputs: dict, *, meanwhile=None) -> TableDict:
        """Write the entry to a temporary folder, manifest last, then rename it into place. Returns
        the tables, a StoredTable now naming its file in the entry. `meanwhile(tables)`, if given,
        runs while the files are written (`frames.write_parquet_files`), or alone without a cache."""
        if self.root is None:
            if meanwhile is not None:
                meanwhile(tables)
            return TableDict(tables)
        final = self.entry(stage, key)
        tmp = final.parent / f".tmp-{key[:12]}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        try:
            paths = [tmp / f"{name}.parquet" for name in tables]
            frames = [(t, p) for t, p in zip(tables.values(), paths) if not isinstance(t, StoredTable)]
            write_parquet_files([t for t, _ in frames], [p for _, p in frames],
                                meanwhile=None if meanwhile is None else lambda: meanwhile(tables))
            for table, path in zip(tables.values(), paths):
                if isinstance(table, StoredTable):
                    shutil.move(table.path, path)
            listed = {name: _listing(table, path) for (name, table), path in zip(tables.items(), paths)}
            manifest = {"stage": stage, "key": key, "format": CACHE_FORMAT, "inputs": inputs, "tables": listed}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True, default=str) + "\n",
                                        encoding="utf-8")
            if final.exists():  # written meanwhile by another run with the same key: same content
                shutil.rmtree(tmp)
            else:
                os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        stored = TableDict()
        for (name, table), path in zip(tables.items(), paths):
            if isinstance(table, StoredTable):
                table = table.moved_to(final / path.name)
            else:
                self._remember(table, final / path.name)
            stored[name] = table
        return stored


def _listing(table: pd.DataFrame | StoredTable, path: Path) -> dict:
    """A table's line of the manifest: its file, checksum, size, rows, columns and dtypes."""
    listed = {"file": path.name, "sha256": _file_sha256(path), "bytes": path.stat().st_size}
    if isinstance(table, StoredTable):
        return {**listed, "rows": table.rows, "columns": list(table.columns), "dtypes": list(table.dtypes),
                "stored": True}
    return {**listed, "rows": len(table), "columns": [str(c) for c in table.columns],
            "dtypes": [str(t) for t in table.dtypes]}


def run_stage(cache: StageCache, log: StageLog, stage: str, inputs: dict, compute, *,
              meanwhile=None) -> tuple[str, TableDict]:
    """The stage's key and tables: read from the cache (each table decoded when first looked up, so
    the stage's logged seconds are its entry's checks), or computed by `compute()` and stored;
    a computed stage's tables are handed to `meanwhile` while they are stored (`StageCache.store`).
    Computed, the memory its intermediates held goes back to the system before the next stage
    (`release_freed_memory`): otherwise every later stage's peak sits on it (at 20,000 articles on
    one core, 1.25 GB resident before the aggregates instead of 0.9 GB)."""
    start = time.perf_counter()
    key = stage_key(stage, inputs)
    tables = cache.load(stage, key)
    if tables is not None:
        log.seconds[stage] = time.perf_counter() - start
        log.reused.append(stage)
        logger.info("stage %s: read from the cache (%s)", stage, key[:12])
        return key, tables
    tables = compute()
    log.computed.append(stage)
    logger.info("stage %s: computed (%s)", stage, key[:12])
    tables = cache.store(stage, key, tables, inputs, meanwhile=meanwhile)
    release_freed_memory()
    log.seconds[stage] = time.perf_counter() - start
    return key, tables
