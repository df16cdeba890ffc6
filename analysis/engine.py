"""Where the document-local steps run: one process, several worker processes, or a Dask cluster.

Every engine does one thing, `Runner.map(fn, chunks, **shared)`: call `fn(chunk, **shared)` on each
chunk of documents and return the results in chunk order. The pipeline hands every engine the same
functions and the same chunks, and combines the results itself, so the engines cannot disagree.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Self

from analysis.frames import release_mapped_pages

ENGINES = ("pandas", "dask")


def show_progress(progress: bool | None) -> bool:
    """Progress bars: as asked, or by default only on a terminal and never in CI (env CI set)."""
    if progress is not None:
        return bool(progress)
    return sys.stderr.isatty() and not os.environ.get("CI")


class Runner:
    """Runs `fn` over chunks with the chosen engine; a context manager that owns its workers.

    engine="pandas": in this process (workers=1) or in `workers` processes (ProcessPoolExecutor).
    engine="dask": on the Dask cluster at `scheduler` (an address such as "tcp://host:8786", or a
    `distributed.Client`), else on a LocalCluster with `workers` worker processes (default: one
    per core).
    """

    def __init__(self, engine: str = "pandas", workers: int = 1, scheduler=None, progress: bool | None = None):
        if engine not in ENGINES:
            raise ValueError(f"engine={engine!r} is not available; choose one of {list(ENGINES)}")
        if int(workers) != workers or workers < 1:
            raise ValueError(f"workers={workers!r} must be a positive integer")
        if scheduler is not None and engine != "dask":
            raise ValueError(f"scheduler={scheduler!r} needs engine='dask'")
        self.engine, self.workers, self.scheduler = engine, int(workers), scheduler
        self.progress = show_progress(progress)
        self._client = self._cluster = None
        self._froze = False
        use_arrow_pool()  # before any worker is forked: they allocate from it too

    def __enter__(self) -> Self:
        self._froze = freeze_heap()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.close()
        finally:
            if self._froze:
                gc.unfreeze()

    def close(self) -> None:
        if self._client is not None and self._client is not self.scheduler:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def _bar(self, desc: str, total: int | None, unit: str):
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit=unit, disable=not self.progress, leave=False, dynamic_ncols=True)

    def map(self, fn: Callable, chunks: Iterable, *, desc: str, size: Callable = len, total: int | None = None,
            unit: str = "doc", keep: Callable | None = None, **shared) -> list:
        """[fn(chunk, **shared) for chunk in chunks], run by the engine; each chunk advances the progress
        bar by `size(chunk)` units (documents by default), of `total` if known. With `keep`, the list
        holds keep(i, result) for chunk i, called as each result arrives (in any order), so a caller can
        write a large result away instead of holding every one until the last."""
        keep = keep or _keep_all
        with self._bar(desc, total, unit) as bar:
            if self.engine == "dask":
                return self._map_dask(fn, chunks, shared, size, bar, keep)
            if self.workers == 1:
                # In this process, as in a pool's worker: the pages read of the mapped tables are handed
                # back once they pile up, or the whole run counts every page a stage has read.
                _mark_read_pages()
                out = []
                for i, chunk in enumerate(chunks):
                    out.append(keep(i, fn(chunk, **shared)))
                    _release_read_pages()
                    bar.update(size(chunk))
                return out
            return self._map_pool(fn, chunks, shared, size, bar, keep)

    def _map_pool(self, fn, chunks, shared, size, bar, keep) -> list:
        # A pool per map, whose workers receive the shared inputs once (not with every chunk). The
        # platform's start method; where it spawns (macOS, Windows), a script needs the
        # `if __name__ == "__main__":` guard (docs/scaling.md).
        # Where workers are forked, chunks already in memory (a list) are inherited with the shared
        # inputs and named by position, rather than pickled to a worker one by one.
        forked = multiprocessing.get_start_method() == "fork"
        inherit = isinstance(chunks, list) and forked
        if forked:
            release_freed_memory()  # a forked worker starts with this process's resident pages
        initargs = (shared, chunks if inherit else [])
        with ProcessPoolExecutor(self.workers, initializer=_set_shared, initargs=initargs) as pool:
            futures = {}
            for i, chunk in enumerate(chunks):
                future = pool.submit(_call_inherited, fn, i) if inherit else pool.submit(_call_shared, fn, chunk)
                futures[future] = (i, size(chunk))
            out = [None] * len(futures)
            for future in as_completed(futures):
                i, n = futures.pop(future)  # the future (and its result) is not held once kept
                out[i] = keep(i, future.result())
                bar.update(n)
        return out

    def client(self):
        """The distributed.Client this runner uses (started on first use)."""
        if self._client is None:
            from distributed import Client, LocalCluster

            if self.scheduler is None:
                self._cluster = LocalCluster(n_workers=self.workers if self.workers > 1 else None,
                                             threads_per_worker=1, dashboard_address=None,
                                             silence_logs=logging.ERROR)
                self._client = Client(self._cluster)
            elif hasattr(self.scheduler, "submit"):
                self._client = self.scheduler
            else:
                self._client = Client(self.scheduler)
        return self._client

    def _map_dask(self, fn, chunks, shared, size, bar, keep) -> list:
        from distributed import as_completed as dask_completed

        client = self.client()
        # Shared inputs (compiled lexicons, rules) go to every worker once, not with every task.
        [shared_future] = client.scatter([shared], broadcast=True, hash=False)
        futures, sizes = [], []
        for chunk in chunks:
            [chunk_future] = client.scatter([chunk], hash=False)
            futures.append(client.submit(_call, fn, chunk_future, shared_future, pure=False))
            sizes.append(size(chunk))
        position = {future.key: i for i, future in enumerate(futures)}
        out = [None] * len(futures)
        for future in dask_completed(futures):
            i = position[future.key]
            out[i] = keep(i, future.result())
            futures[i] = None  # the result lives on the cluster only while referenced
            bar.update(sizes[i])
        return out


def use_arrow_pool() -> None:
    """Arrow's jemalloc memory pool for this process's tables (and its forked workers'), unless
    ARROW_DEFAULT_MEMORY_POOL names one or this build of pyarrow has no jemalloc.

    pyarrow's default on Linux, mimalloc, was slow with the pipeline's large columns: joining the
    2 million sentence texts of 100,000 articles took 0.79 s in it against 0.18 s in jemalloc,
    and a cold run of those articles 291 s against 273 s (docs/benchmark.md, seventeenth round).
    The results do not depend on it."""
    import pyarrow as pa

    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # not built with it: the default stays
        pass


def release_freed_memory() -> None:
    """Collect reference cycles, then hand freed memory back to the system: Arrow's memory pool's,
    and the C heap's (glibc's malloc_trim; elsewhere the heap is left as it is), so that resident
    memory, and a forked worker's copy of it, follows what is held; and the pages read of the mapped
    tables (`frames.release_mapped_pages`), which the page cache keeps."""
    release_freed_heap()
    release_mapped_pages()


def release_freed_heap() -> None:
    """Collect reference cycles, then hand the heap's freed memory back to the system: Arrow's memory
    pool's and the C heap's (glibc's malloc_trim; elsewhere the heap is left as it is)."""
    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def freeze_heap() -> bool:
    """Collect reference cycles, then set every object alive now (the imported modules, a session's
    variables) aside from the cycle collector (`gc.freeze`), so that the collections a run makes
    (`release_freed_heap`, after each stage, before each pool and after each corpus-level task; the
    interpreter's own) look only at what the run made, not each time again at the 75,000 objects of
    the imported modules (17 to 30 ms a collection). Nor do a forked worker's collections write to,
    and so copy, the pages of those objects. Returns whether it froze, which it does not where
    something froze objects already (they are the caller's to thaw); a `Runner` thaws on exit."""
    if gc.get_freeze_count():
        return False
    gc.collect()
    gc.freeze()
    return True


@functools.cache
def _malloc_trim():
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc (Windows has no CDLL(None) at all)
        return None


def _keep_all(_: int, result):
    return result


def _call(fn: Callable, chunk, shared: dict):
    return fn(chunk, **shared)


_SHARED: dict = {}
_INHERITED: list = []  # a forked worker's chunks, named by position
# A pool's worker hands back the pages it has read of the mapped tables once they pass this many bytes
# (each task reads its own chunk, or for a corpus-level task whole columns, which every worker would
# otherwise keep counting in its resident memory until the pool ends; docs/scaling.md).
RELEASE_READ_PAGES = 64 << 20
_FILE_PAGES = [0]  # a worker's resident file pages after its last release


def _set_shared(shared: dict, chunks: list) -> None:
    _SHARED.clear()
    _SHARED.update(shared)
    _INHERITED[:] = chunks
    _mark_read_pages()


def _call_shared(fn: Callable, chunk):
    try:
        return fn(chunk, **_SHARED)
    finally:
        _release_read_pages()


def _call_inherited(fn: Callable, i: int):
    return _call_shared(fn, _INHERITED[i])


def _release_read_pages() -> None:
    """After a task (in a pool's worker, or in this process with one worker): the mapped tables'
    pages read, handed back once more than RELEASE_READ_PAGES of them have piled up since the last
    time (reading them again costs little; finding them, a look at every mapped page, is done that
    seldom)."""
    if _resident_file_bytes() - _FILE_PAGES[0] > RELEASE_READ_PAGES:
        release_mapped_pages()
        _mark_read_pages()


def _mark_read_pages() -> None:
    """The resident file pages from which `_release_read_pages` counts what tasks read next."""
    _FILE_PAGES[0] = _resident_file_bytes()


def _resident_file_bytes() -> int:
    """This process's resident pages of files and shared memory (the third field of /proc's statm),
    in bytes; 0 where there is no such file."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[2]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0
