"""The benchmark (`python -m analysis bench [PATH] [--sizes ...]`): how fast the full pipeline runs,
on synthetic news corpora of several sizes or on a real corpus, against VADER alone.

Every timed run is a fresh process (so start-up, imports and worker pools count, as for a user)
with a fresh cache folder (cold); the peak memory is the summed resident memory of that process and
its workers, sampled every 50 ms. The sizes are measured in rounds, round i making the i-th runs of
every size (smallest first in even rounds, largest first in odd ones), so that a host whose speed
drifts slows every size alike rather than the last. Per size:

- `--repeats` cold runs with `--workers` processes and as many with one worker pinned to one core,
  interleaved (run i of each side next to the other's, which goes first alternating, so that a host
  whose speed drifts slows both alike); the median time of each, their min and max, and the
  speed-up of the medians;
- the ratio, `--repeats` times (or `--ratio-repeats`; 0 leaves it out) (full and half size alternating
  which goes first): wall time of
  `python -m analysis measure` (cold, one core) at the full size minus at half the size, over the
  same difference for VADER alone scoring the same distinct sentences on the same core right after
  each (start-up cancels in each difference); the median, min and max;
- a re-run on the first run's cache, as a share of the cold time;
- after the VADER timing, how many of the ratio runs' sentence scores differ from vaderSentiment's
  own (the pipeline calls VADER through `analysis.vader`; this must be 0).

docs/benchmark.md describes the method and records the measured figures.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

STAGES = ("corpus", "text", "words", "matches", "actors", "scores", "aggregates", "write")
DEFAULT_SIZES = (1000, 10000, 100000)
MAPPING = {"text_col": "body", "outlet_col": "outlet", "id_col": "id", "date_col": "date", "title_col": "title",
           "group_col": "group"}
BENCH_COLUMNS = [
    "corpus", "articles", "mb_text", "sentences", "distinct_sentences", "workers", "runs", "seconds", "seconds_min",
    "seconds_max", "articles_per_s", "mb_per_s", "peak_memory_mb", *(f"us_per_sentence_{s}" for s in STAGES),
    "seconds_1_worker", "seconds_1_worker_min", "seconds_1_worker_max", "speedup", "measure_1core_full",
    "measure_1core_half", "vader_full", "vader_half", "ratio", "ratio_min", "ratio_max", "ratio_runs", "cached_seconds",
    "cached_share", "vader_mismatches",
]
FIGURE_COLUMNS = ["corpus", "articles", "figure", "value", "seed_value", "ratio_to_seed"]
FIGURE_SAMPLE = 2000  # articles whose text properties are reported (the first ones; a prefix of every size)


# --------------------------------------------------------------------------- corpora


def seed_profile() -> dict:
    """`synthetic.seed_profile` of the project's seed captures (with their matches)."""
    import warnings

    from analysis import measures, synthetic
    from analysis.cli import SEEDS_DIR
    from analysis.pipeline import load_corpus

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corpus = load_corpus(SEEDS_DIR)
    docs = corpus.documents
    matches = measures.match_documents(docs, measures.compile_matcher(measures.load_lexicons()))
    return synthetic.seed_profile(corpus, matches)


def text_figures(table: pd.DataFrame, profile: dict, *, label: str) -> pd.DataFrame:
    """How news-like a table of articles is (its first FIGURE_SAMPLE articles), beside the seeds:
    distinct sentences (originals' body sentences), sentences copied from the seeds, documents with
    balanced quotation marks, mean sentence words, quoted and reported word shares, copies, and the
    rate per 1,000 words of each lexicon category."""
    import warnings

    from analysis import measures
    from analysis.pipeline import load_corpus

    sample = table.iloc[:FIGURE_SAMPLE]
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = Path(tmp) / "sample.parquet"
        sample.to_parquet(path, index=False)
        corpus = load_corpus(path, **MAPPING, progress=False)
    docs, sents = corpus.documents, corpus.sentences
    originals = sents[sents["doc_id"].isin(docs.loc[docs["duplicate_of"] == "", "doc_id"]) & (sents["section"] == "body")]
    n_words = int(sents["n_words"].sum())
    texts = docs["clean_text"]
    balanced = ((texts.str.count("“") == texts.str.count("”")) & (texts.str.count('"') % 2 == 0)).mean()
    rows = [("distinct_sentence_share", originals["text"].nunique() / max(len(originals), 1), None),
            ("sentences_copied_from_seeds", float(sents["text"].isin(profile["seed_sentences"]).sum()), 0.0),
            ("balanced_quote_documents_share", float(balanced), None),
            ("mean_sentence_words", float(sents["n_words"].mean()), profile["mean_words"]),
            ("copy_share", float((docs["duplicate_of"] != "").mean()), None)]
    for voice in ("quoted", "reported"):
        share = float((sents[f"share_{voice}"] * sents["n_words"]).sum() / n_words)
        rows.append((f"{voice}_word_share", share, profile["share"][voice]))
    found = measures.match_documents(docs, measures.compile_matcher(measures.load_lexicons()))
    counts = found.groupby(["lexicon", "category"]).size()
    for name, info in sorted(profile["categories"].items()):
        lexicon, category = name.split("/")
        rows.append((f"rate_per_1k {name}", 1000 * counts.get((lexicon, category), 0) / n_words, 1000 * info["rate"]))
    out = pd.DataFrame(rows, columns=["figure", "value", "seed_value"])
    out["ratio_to_seed"] = out["value"] / out["seed_value"].where(out["seed_value"] > 0)
    return out.assign(corpus=label, articles=len(sample))[FIGURE_COLUMNS]


def real_table(path: Path, mapping: dict) -> pd.DataFrame:
    """A real corpus (a folder with manifest.csv, or an article table) with the synthetic tables'
    columns, so the benchmark runs it the same way."""
    from analysis.synthetic import folder_as_table
    from analysis.tables import table_kind

    if path.is_dir():
        return folder_as_table(path)
    kind = table_kind(path)
    table = (pd.read_csv(path, dtype=str, keep_default_na=False) if kind == "csv" else
             pd.read_json(path, lines=True, dtype=False) if kind == "jsonl" else pd.read_parquet(path))
    given = {mapping[k]: v for k, v in MAPPING.items() if mapping.get(k)}
    if "body" not in given.values() or "outlet" not in given.values():
        raise ValueError(f"{path}: an article table needs --text-col and --outlet-col")
    return table[list(given)].rename(columns=given)


# --------------------------------------------------------------------------- runs


def _pin_one_core() -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def _run(command: list[str], *, pinned: bool = False) -> dict:
    """Run a command in a fresh process: wall seconds, peak summed resident memory (MB), stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_pin_one_core if pinned else None)  # noqa: PLW1509 - no thread runs yet
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} ... failed ({proc.returncode}):\n{err[-3000:]}")
    return {"wall": wall, "peak_mb": peak[0] / 2**20, "stdout": out}


def _measure_child(spec: dict) -> None:
    """In a benchmark child: one `measure` run with Parquet output (cold, or the re-run on a cache);
    prints its stage times. The benchmark counts the run's sentences itself (`_sentence_counts`),
    outside this process, so that counting them is not in the run's peak memory."""
    from analysis.pipeline import measure

    start = time.perf_counter()
    results = measure(spec["table"], **MAPPING, out=spec["out"], fmt="parquet", cache_dir=spec["cache"],
                      workers=spec["workers"], progress=False)
    total = time.perf_counter() - start
    seconds = dict(results.stage_seconds)
    seconds["write"] = max(total - sum(seconds.values()), 0.0)
    print(json.dumps({"stages": seconds, "reused": results.stages_reused}))


def _sentence_counts(out: Path) -> dict:
    """The sentences of a run's output and its distinct sentence texts, counted by Arrow in the
    benchmark's own process, whose memory is not sampled. (Counted in the run's process they were the
    peak of a one-worker run at 100,000 articles: 2.1 GB against 1.7 GB for the pipeline itself.)"""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    text = pq.read_table(Path(out) / "sentences.parquet", columns=["text"])["text"]
    return {"sentences": len(text), "distinct": int(pc.count_distinct(text).as_py())}


def _vader_child(out: str) -> None:
    """In a benchmark child: VADER alone (vaderSentiment as installed) on the distinct sentence texts
    of the `measure` output in `out`; prints the scoring seconds and how many of that run's sentence
    scores differ from VADER's own (after the timing; must be 0)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sentences = pd.read_parquet(Path(out) / "sentences.parquet", columns=["doc_id", "sentence_id", "text"])
    texts = list(dict.fromkeys(sentences["text"]))
    analyzer = SentimentIntensityAnalyzer()
    start = time.perf_counter()
    own = [analyzer.polarity_scores(text) for text in texts]
    seconds = time.perf_counter() - start
    mismatches = vader_mismatches(out, sentences, dict(zip(texts, own)))
    print(json.dumps({"seconds": seconds, "distinct": len(texts), "mismatches": mismatches}))


def vader_mismatches(out, sentences: pd.DataFrame, own: dict[str, dict]) -> int:
    """Sentences (doc_id, sentence_id, text) of the `measure` output in `out` whose compound, pos,
    neu, neg or (the default mask being empty) compound_masked differ from `own` (text -> VADER's
    polarity_scores)."""
    scores = pd.read_parquet(Path(out) / "sentence_scores.parquet").merge(sentences, on=["doc_id", "sentence_id"])
    expected = pd.DataFrame([own[text] for text in scores["text"]], columns=["neg", "neu", "pos", "compound"])
    expected["compound_masked"] = expected["compound"]
    differs = np.zeros(len(scores), bool)
    for column in expected.columns:
        differs |= scores[column].to_numpy(float) != expected[column].to_numpy(float)
    return int(differs.sum()) + abs(len(scores) - len(sentences))


def _child(kind: str, arg) -> list[str]:
    return [sys.executable, "-m", "analysis.bench", kind, json.dumps(arg) if kind == "--measure" else arg]


def _measure_cli(table: Path, out: Path, cache: Path) -> list[str]:
    flags = [x for k, v in MAPPING.items() for x in (f"--{k.replace('_', '-')}", v)]
    return [sys.executable, "-m", "analysis", "measure", str(table), *flags, "--out", str(out), "--format",
            "parquet", "--cache-dir", str(cache), "--workers", "1", "--no-progress"]


RATIO_TIMES = ("measure_1core_full", "measure_1core_half", "vader_full", "vader_half")


def _ratio_pair(full: Path, half: Path, work: Path, *, first: str) -> dict:
    """One measurement of the ratio: `python -m analysis measure` on one core at the full and the
    half size (`first` goes first), each followed by VADER alone on its distinct sentences; the
    wall times, the ratio (NaN when VADER's difference is not positive, as on a corpus of a few
    articles, too small to rise above timing noise) and the sentence scores that differ."""
    timed, mismatches = {}, 0
    for name in (first, "half" if first == "full" else "full"):
        out = work / f"out-{name}"
        path = full if name == "full" else half
        timed[f"measure_1core_{name}"] = _run(_measure_cli(path, out, work / f"cache-{name}"), pinned=True)["wall"]
        vader = json.loads(_run(_child("--vader", str(out)), pinned=True)["stdout"])
        timed[f"vader_{name}"] = vader["seconds"]
        mismatches += vader["mismatches"]
    vader_extra = timed["vader_full"] - timed["vader_half"]
    measure_extra = timed["measure_1core_full"] - timed["measure_1core_half"]
    return {**timed, "ratio": measure_extra / vader_extra if vader_extra > 0 else math.nan, "mismatches": mismatches}


def bench_size(table: pd.DataFrame, *, label: str, work: Path, workers: int, repeats: int,
               ratio_repeats: int | None = None, echo=print) -> dict:
    """Every figure of one benchmark row for one article table (see the module docstring). The ratio
    is measured `ratio_repeats` times (default `repeats`); with 0 it is not, and the ratio's columns
    and `vader_mismatches` are NaN (not measured, not checked)."""
    return bench_sizes([(label, table)], work=work, workers=workers, repeats=repeats, ratio_repeats=ratio_repeats,
                       echo=echo)[0]


class _SizeRuns:
    """One corpus size while the benchmark runs: its files, and the runs measured so far."""

    def __init__(self, label: str, table: pd.DataFrame, work: Path):
        self.label, self.articles, self.work = label, len(table), work
        work.mkdir(parents=True, exist_ok=True)
        self.full, self.half = work / "articles.parquet", work / "half.parquet"
        table.to_parquet(self.full, index=False)
        table.iloc[:len(table) // 2].to_parquet(self.half, index=False)
        self.mb = table["body"].str.len().sum() / 1e6
        self.many, self.one, self.pairs, self.cached = [], [], [], None


def bench_sizes(tables: list[tuple[str, pd.DataFrame]], *, work: Path, workers: int, repeats: int,
                ratio_repeats: int | None = None, echo=print) -> list[dict]:
    """One benchmark row per (label, article table), measured in rounds: round i makes the i-th runs
    of every size (smallest first in even rounds, largest first in odd ones), so that a host whose
    speed drifts during the benchmark (it does: docs/benchmark.md) slows every size alike rather than
    the last, and the linearity quotient compares sizes measured under the same conditions."""
    ratio_repeats = repeats if ratio_repeats is None else ratio_repeats
    sizes = [_SizeRuns(label, table, work / f"n{len(table)}") for label, table in tables]
    for i in range(max(repeats, ratio_repeats)):  # more ratio pairs than cold runs: rounds of pairs alone
        for size in sizes if i % 2 == 0 else sizes[::-1]:
            if i < repeats:
                _cold_runs(size, i, workers=workers, echo=echo)
            if i < ratio_repeats:
                size.pairs.append(_ratio_pair(size.full, size.half, size.work / f"ratio-{i}",
                                              first="full" if i % 2 == 0 else "half"))
                shutil.rmtree(size.work / f"ratio-{i}", ignore_errors=True)
                echo(f"  {size.label}: ratio {size.pairs[-1]['ratio']:.2f}")
    rows = [_size_row(size, workers=workers, repeats=repeats) for size in sizes]
    for size in sizes:
        shutil.rmtree(size.work, ignore_errors=True)
    return rows


def _cold_runs(size: _SizeRuns, i: int, *, workers: int, echo) -> None:
    """Run i of `workers` processes next to run i of one worker pinned to one core, the one or the
    other first alternating (a drifting host slows both sides of the speed-up alike); after the
    first, the re-run on its cache. Each run's output and cache are removed once used."""
    def cold(n_workers: int) -> dict:
        cache, out = size.work / f"cache-{n_workers}-{i}", size.work / f"out-{n_workers}-{i}"
        run = _run(_child("--measure", {"table": str(size.full), "out": str(out), "cache": str(cache),
                                        "workers": n_workers}), pinned=n_workers == 1)
        run.update(json.loads(run.pop("stdout").strip().splitlines()[-1]), **_sentence_counts(out))
        echo(f"  {size.label}: cold run, {n_workers} worker(s){' pinned to one core' if n_workers == 1 else ''}: "
             f"{run['wall']:.1f} s, peak {run['peak_mb']:.0f} MB")
        shutil.rmtree(out, ignore_errors=True)
        return run

    for n_workers in ((workers, 1) if i % 2 == 0 else (1, workers)):
        (size.many if n_workers == workers else size.one).append(cold(n_workers))
    if i == 0:
        size.cached = _run(_child("--measure", {"table": str(size.full), "out": str(size.work / "out-cached"),
                                                "cache": str(size.work / f"cache-{workers}-0"), "workers": workers}))
        echo(f"  {size.label}: re-run on the cache: {size.cached['wall']:.1f} s")
        shutil.rmtree(size.work / "out-cached", ignore_errors=True)
    for n_workers in {workers, 1}:
        shutil.rmtree(size.work / f"cache-{n_workers}-{i}", ignore_errors=True)


def _size_row(size: _SizeRuns, *, workers: int, repeats: int) -> dict:
    """The benchmark row of one size from its runs. The ratio: the median of the pairs' (NaN if any
    is, or if none was measured), with the times of the pair closest to it."""
    pairs = size.pairs
    ratios = [p["ratio"] for p in pairs]
    ratio = math.nan if not ratios or any(math.isnan(r) for r in ratios) else statistics.median(ratios)
    timed = dict.fromkeys(RATIO_TIMES, math.nan) if not pairs else pairs[0] if math.isnan(ratio) else \
        min(pairs, key=lambda p: abs(p["ratio"] - ratio))
    ratio_min, ratio_max = (math.nan, math.nan) if math.isnan(ratio) else (min(ratios), max(ratios))
    mismatches = sum(p["mismatches"] for p in pairs) if pairs else math.nan
    walls, ones = [r["wall"] for r in size.many], [r["wall"] for r in size.one]
    median, median_one = statistics.median(walls), statistics.median(ones)
    typical = min(size.many, key=lambda r: abs(r["wall"] - median))
    return {"corpus": size.label, "articles": size.articles, "mb_text": size.mb, "sentences": typical["sentences"],
            "distinct_sentences": typical["distinct"], "workers": workers, "runs": repeats, "seconds": median,
            "seconds_min": min(walls), "seconds_max": max(walls), "articles_per_s": size.articles / median,
            "mb_per_s": size.mb / median, "peak_memory_mb": max(r["peak_mb"] for r in size.many + size.one),
            **{f"us_per_sentence_{s}": 1e6 * typical["stages"].get(s, 0.0) / typical["sentences"] for s in STAGES},
            "seconds_1_worker": median_one, "seconds_1_worker_min": min(ones), "seconds_1_worker_max": max(ones),
            "speedup": median_one / median, **{k: timed[k] for k in RATIO_TIMES}, "ratio": ratio,
            "ratio_min": ratio_min, "ratio_max": ratio_max, "ratio_runs": len(pairs),
            "cached_seconds": size.cached["wall"], "cached_share": size.cached["wall"] / median,
            "vader_mismatches": mismatches}


def linearity(rows: pd.DataFrame) -> float | None:
    """(T_largest - T_smallest) / (T_middle - T_smallest) over the first, middle and last sizes (the
    issue's (T100k - T1k) / (T10k - T1k)); None with fewer than three sizes."""
    if len(rows) < 3:
        return None
    t = rows.sort_values("articles")["seconds"].to_numpy()
    return float((t[-1] - t[0]) / (t[len(t) // 2] - t[0]))


def run(path=None, *, sizes=DEFAULT_SIZES, workers: int = 2, repeats: int = 3, ratio_repeats: int | None = None,
        seed: int = 0, out=None, mapping: dict | None = None, echo=print) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The benchmark: one row per size (synthetic corpora) or for the real corpus at `path`, and the
    text figures of each corpus beside the seeds'. With `out`, both are written there as CSV. The
    ratio is measured `ratio_repeats` times per size (default `repeats`; 0: not measured, which at
    100,000 articles saves about half an hour a repeat)."""
    from analysis.synthetic import news_articles

    if workers < 1 or repeats < 1:
        raise ValueError(f"workers={workers} and repeats={repeats} must be at least 1")
    if ratio_repeats is not None and ratio_repeats < 0:
        raise ValueError(f"ratio_repeats={ratio_repeats} must be 0 or more")
    profile = seed_profile()
    figures = []
    with tempfile.TemporaryDirectory(prefix="framing-lens-bench-") as tmp:
        if path is not None:
            tables = [(Path(path).name, real_table(Path(path), mapping or {}))]
        else:
            biggest = news_articles(profile, max(sizes), seed=seed)  # each size is a prefix of the largest
            tables = [(f"synthetic {n}", biggest.iloc[:n]) for n in sorted(sizes)]
        for label, table in tables:
            echo(f"{label}: {len(table)} articles")
            figures.append(text_figures(table, profile, label=label))
        rows = bench_sizes(tables, work=Path(tmp), workers=workers, repeats=repeats, ratio_repeats=ratio_repeats,
                           echo=echo)
    table, figures = pd.DataFrame(rows, columns=BENCH_COLUMNS), pd.concat(figures, ignore_index=True)
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
        table.to_csv(Path(out) / "bench.csv", index=False, lineterminator="\n")
        figures.to_csv(Path(out) / "bench_corpus.csv", index=False, lineterminator="\n")
    return table, figures


def machine() -> str:
    """The machine in one line: CPU model, cores this process may use, memory, Python."""
    import platform

    import psutil

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else \
        platform.processor()
    return (f"{model}, {len(os.sched_getaffinity(0))} cores, {psutil.virtual_memory().total / 2**30:.0f} GB, "
            f"Python {platform.python_version()}, {platform.system()}")


def report(table: pd.DataFrame, figures: pd.DataFrame) -> str:
    """The benchmark as text: the machine, the table (one column per corpus), linearity, targets."""
    shown = table.set_index("corpus").T
    lines = [f"machine: {machine()}", "", shown.to_string(float_format=lambda v: f"{v:,.2f}"), ""]
    lin = linearity(table)
    biggest = table.iloc[-1]
    lines += [
        "targets (largest corpus):",
        (f"  ratio <= 1.5 (stretch 1.25): {biggest['ratio']:.2f} (median of {biggest['ratio_runs']}; "
         f"{biggest['ratio_min']:.2f}-{biggest['ratio_max']:.2f})" if biggest["ratio_runs"] else
         "  ratio <= 1.5 (stretch 1.25): not measured (--ratio-repeats 0)"),
        (f"  {biggest['workers']} workers >= 1.7x one: {biggest['speedup']:.2f}x (median of {biggest['runs']}; "
         f"{biggest['workers']} workers {biggest['seconds_min']:.1f}-{biggest['seconds_max']:.1f} s, "
         f"one {biggest['seconds_1_worker_min']:.1f}-{biggest['seconds_1_worker_max']:.1f} s)"),
        "  linear, 9 <= (T_large - T_small) / (T_mid - T_small) <= 11: "
        + (f"{lin:.2f}" if lin is not None else "needs three sizes"),
        f"  peak memory < 2048 MB: {biggest['peak_memory_mb']:.0f} MB",
        f"  cached re-run < 5 % of cold: {100 * biggest['cached_share']:.1f} %",
        "  sentence scores identical to vaderSentiment's on every sentence of the ratio runs: " + _vader_verdict(table),
        "",
        f"text of each corpus (first {FIGURE_SAMPLE} articles) beside the seeds:",
        figures.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
    ]
    return "\n".join(lines)


def _vader_verdict(table: pd.DataFrame) -> str:
    checked = table["vader_mismatches"].dropna()
    if checked.empty:
        return "not checked (no ratio run)"
    verdict = "yes" if (checked == 0).all() else f"NO, {int(checked.sum())} differ"
    return verdict + ("" if len(checked) == len(table) else f" ({len(checked)} of {len(table)} corpora checked)")


if __name__ == "__main__":
    kind, arg = sys.argv[1], sys.argv[2]
    if kind == "--measure":
        _measure_child(json.loads(arg))
    else:
        _vader_child(arg)
