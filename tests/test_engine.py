"""The pandas engine's worker processes, and handing freed memory back before they are forked."""

from __future__ import annotations

import gc
import itertools
import os
import time
import weakref

import numpy as np
import pandas as pd
import psutil
import pytest

from analysis import engine
from analysis.engine import Runner, _malloc_trim, release_freed_heap, release_freed_memory
from analysis.frames import map_from_disk


def _plus(chunk: int, *, offset: int) -> int:
    return chunk + offset


def test_two_workers_return_every_chunk_in_order_with_the_shared_inputs():
    chunks = list(range(23))
    with Runner(workers=2, progress=False) as runner:
        assert runner.map(_plus, chunks, desc="test", size=lambda _: 1, offset=100) == [c + 100 for c in chunks]
        # a generator of chunks (not inherited by the workers, sent with each task) gives the same
        assert runner.map(_plus, iter(chunks), desc="test", size=lambda _: 1, offset=100) == [c + 100 for c in chunks]


@pytest.mark.parametrize("workers", [1, 2])
def test_keep_sees_each_result_once_and_the_list_holds_what_it_returns(workers):
    """A caller can write results away as they arrive: keep(i, result) is called once per chunk, with
    its position, and the list holds what keep returned."""
    seen = []

    def keep(i, result):
        seen.append((i, result))
        return None if i % 2 else -result

    chunks = list(range(11))
    with Runner(workers=workers, progress=False) as runner:
        kept = runner.map(_plus, chunks, desc="test", size=lambda _: 1, keep=keep, offset=100)
    assert sorted(seen) == [(c, c + 100) for c in chunks]
    assert kept == [None if c % 2 else -(c + 100) for c in chunks]


class _Node:
    """An object that can sit in a reference cycle and be watched through a weak reference."""

    def __init__(self):
        self.me = self


@pytest.fixture
def nothing_frozen():
    if gc.get_freeze_count():
        pytest.skip("objects were frozen before this test")
    yield
    gc.unfreeze()


def test_a_runner_sets_what_is_alive_aside_from_the_cycle_collector_while_it_runs(nothing_frozen):
    """Inside a runner the collections look only at what the run made: objects alive at its start are
    frozen, a cycle made in the run is still collected, and on exit everything is thawed, so a cycle
    that the run left behind among the objects of before is collected again."""
    before = _Node()
    watch_before = weakref.ref(before)
    with Runner(workers=2, progress=False) as runner:
        assert gc.get_freeze_count() > 0
        made = _Node()
        watch_made = weakref.ref(made)
        del made
        release_freed_heap()
        assert watch_made() is None  # made in the run: collected
        assert runner.map(_plus, [1, 2, 3], desc="test", size=lambda _: 1, offset=1) == [2, 3, 4]
        del before
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert watch_before() is None


def test_a_runner_leaves_what_its_caller_froze_frozen(nothing_frozen):
    gc.freeze()
    frozen = gc.get_freeze_count()
    with Runner(progress=False):
        assert gc.get_freeze_count() == frozen
    assert gc.get_freeze_count() == frozen  # the caller's to thaw (the fixture does)


@pytest.mark.skipif(_malloc_trim() is None, reason="malloc_trim is glibc's")
def test_freed_heap_memory_goes_back_to_the_system():
    # 2 kB strings come from malloc, not Python's small-object arenas; keeping every 50th alive leaves
    # the freed ones as holes in the heap, which glibc keeps resident until trimmed.
    process = psutil.Process()
    strings = [str(i).rjust(2000, "x") for i in range(100_000)]
    kept = strings[::50]
    del strings
    gc.collect()
    before = process.memory_info().rss
    release_freed_memory()
    after = process.memory_info().rss
    assert before - after > 100 * 2**20, f"resident memory fell by {(before - after) / 2**20:.0f} MB only"
    assert len(kept) == 2000


def _arrow_pool(_chunk) -> str:
    import pyarrow as pa

    return pa.default_memory_pool().backend_name


@pytest.fixture
def arrow_pool_restored():
    import pyarrow as pa

    before = pa.default_memory_pool()
    yield pa
    pa.set_memory_pool(before)


def test_a_runner_allocates_arrow_tables_from_jemalloc_in_its_workers_too(arrow_pool_restored, monkeypatch):
    pa = arrow_pool_restored
    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow is built without jemalloc")
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    pa.set_memory_pool(pa.system_memory_pool())
    with Runner(workers=2, progress=False) as runner:
        assert runner.map(_arrow_pool, [0, 1, 2], desc="test", size=lambda _: 1) == ["jemalloc"] * 3
    assert _arrow_pool(None) == "jemalloc"


def test_a_pool_the_user_names_is_left_as_it_is(arrow_pool_restored, monkeypatch):
    pa = arrow_pool_restored
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")
    pa.set_memory_pool(pa.system_memory_pool())
    with Runner(workers=2, progress=False) as runner:
        assert runner.map(_arrow_pool, [0, 1], desc="test", size=lambda _: 1) == ["system"] * 2


def _read_mapped(chunk: int, *, table) -> tuple:
    """A task that reads a whole mapped column: its worker, when, and its resident file pages
    before and after."""
    start, before = time.monotonic(), _resident_file_bytes()
    total = int(table["n"].sum())
    return os.getpid(), start, before, _resident_file_bytes(), total


def _resident_file_bytes() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("RssFile:"))


@pytest.mark.skipif(not os.path.exists("/proc/self/pagemap"), reason="reads Linux's page map")
def test_a_worker_hands_back_the_mapped_pages_a_task_read_before_its_next_task(tmp_path, monkeypatch):
    """Each task reads a 48 MB mapped column whole; over the threshold, its worker releases those
    pages after the task, so its next task starts without them (and the sums stay right)."""
    monkeypatch.setattr(engine, "RELEASE_READ_PAGES", 1 << 20)
    table = pd.DataFrame({"n": np.arange(6_000_000, dtype=np.int64)})
    assert map_from_disk([(table, None)], tmp_path)
    with Runner(workers=2, progress=False) as runner:
        done = runner.map(_read_mapped, list(range(8)), desc="test", size=lambda _: 1, table=table)
    assert {total for *_, total in done} == {6_000_000 * 5_999_999 // 2}
    by_worker = {}
    for pid, start, before, after, _ in sorted(done, key=lambda task: task[1]):
        by_worker.setdefault(pid, []).append((before, after))
    assert sum(len(tasks) - 1 for tasks in by_worker.values()) >= 1
    for tasks in by_worker.values():
        for (_, read), (next_before, _) in itertools.pairwise(tasks):
            assert read - next_before >= 40_000_000


@pytest.mark.skipif(not os.path.exists("/proc/self/pagemap"), reason="reads Linux's page map")
def test_one_worker_hands_back_the_mapped_pages_a_task_read_before_its_next_task(tmp_path, monkeypatch):
    """With one worker the tasks run in this process, which likewise hands back the pages a task read
    once they pass the threshold: a stage that reads every chunk of a mapped table does not keep all
    of them resident to its end (the one-worker run's peak at 100,000 articles)."""
    monkeypatch.setattr(engine, "RELEASE_READ_PAGES", 1 << 20)
    table = pd.DataFrame({"n": np.arange(6_000_000, dtype=np.int64)})
    assert map_from_disk([(table, None)], tmp_path)
    with Runner(workers=1, progress=False) as runner:
        done = runner.map(_read_mapped, list(range(3)), desc="test", size=lambda _: 1, table=table)
    assert [total for *_, total in done] == [6_000_000 * 5_999_999 // 2] * 3
    assert {pid for pid, *_ in done} == {os.getpid()}
    for (_, _, _, read, _), (_, _, next_before, _, _) in itertools.pairwise(done):
        assert read - next_before >= 40_000_000
