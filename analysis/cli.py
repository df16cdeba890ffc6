"""Command line: `python -m analysis corpus|measure|figures|bench ...` (one entry for everything a user runs)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from analysis.corpus import CorpusError

PROJECT_DIR = Path(__file__).resolve().parent.parent
SEEDS_DIR = PROJECT_DIR / "seeds"
SEED_RESULTS_DIR = PROJECT_DIR / "results" / "seeds"
DEFAULT_CACHE_DIR = ".framing-lens-cache"
NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"
FIGURES_DIR = PROJECT_DIR / "figures"
BUILD_DIR = PROJECT_DIR / "build"
WRITEUPS_DIR = PROJECT_DIR / "writeups"


def _add_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="folder of .txt files with manifest.csv, or a CSV / JSONL / Parquet table")
    parser.add_argument("--out", required=True, help="folder to write the tables to")
    for name in ("text", "outlet", "id", "date", "title", "url", "author", "group"):
        parser.add_argument(f"--{name}-col", help=f"column of an article table holding the {name}")
    parser.add_argument("--grouping", help="CSV with columns outlet,group, or a documents column")
    parser.add_argument("--rules", help="boilerplate rules CSV (default: the packaged rules)")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR,
                        help=f"cache of computed stages, reused while their inputs are unchanged (default: "
                             f"{DEFAULT_CACHE_DIR} in the current folder)")
    parser.add_argument("--no-cache", action="store_true", help="compute every stage; read and write no cache")
    parser.add_argument("--engine", choices=("pandas", "dask"), default="pandas",
                        help="pandas: this machine (see --workers); dask: a Dask cluster (see --scheduler)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes (pandas), or workers of the local Dask cluster (dask)")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786 "
                                            "(implies --engine dask)")
    parser.add_argument("--chunk-size", type=int, help="documents per chunk (default: 500)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bars (default: on a terminal, not in CI)")


def _corpus_kwargs(args) -> dict:
    names = ("text", "outlet", "id", "date", "title", "url", "author", "group")
    return {f"{n}_col": getattr(args, f"{n}_col") for n in names} | {"grouping": args.grouping, "rules": args.rules}


def _run_kwargs(args) -> dict:
    """Where and how the pipeline runs: cache, engine, workers, scheduler, chunks, progress."""
    chunks = {"chunk_size": args.chunk_size} if args.chunk_size else {}
    return {"cache_dir": None if args.no_cache else args.cache_dir,
            "engine": "dask" if args.scheduler else args.engine, "workers": args.workers,
            "scheduler": args.scheduler, "progress": args.progress, **chunks}


def cmd_corpus(args) -> int:
    from analysis.pipeline import load_corpus

    corpus = load_corpus(args.path, **_corpus_kwargs(args), **_run_kwargs(args))
    for path in corpus.write(args.out, fmt=args.format):
        print(path)
    return 0


def cmd_measure(args) -> int:
    from analysis.pipeline import measure

    lexicons = args.lexicons.split(",") if args.lexicons else None
    results = measure(args.path, out=args.out, lexicons=lexicons, group_a=args.group_a, group_b=args.group_b,
                      dedup=args.dedup, mask=args.mask, actors=args.actors, alpha_0=args.alpha_0, seed=args.seed,
                      n_boot=args.n_boot, n_perm=args.n_perm, doc_intervals=args.doc_intervals, fmt=args.format,
                      **_corpus_kwargs(args), **_run_kwargs(args))
    if results.stages_reused:
        print(f"from the cache: {', '.join(results.stages_reused)}; computed: "
              f"{', '.join(results.stages_computed) or 'nothing'}", file=sys.stderr)
    print(f"tables written to {args.out}")
    return 0


def cmd_figures(args) -> int:
    """Regenerate everything derived from the seeds: the committed seed result tables, then every
    notebook run of notebooks/runs.yaml (or the one asked for) into figures/."""
    from analysis import runs
    from analysis.pipeline import load_corpus, measure

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the seeds must load without a single exclusion
        corpus = load_corpus(SEEDS_DIR)
    measure(corpus, out=SEED_RESULTS_DIR)
    print(f"seed results: {SEED_RESULTS_DIR.relative_to(PROJECT_DIR)}/")
    run_list = runs.load_runs(NOTEBOOKS_DIR / "runs.yaml")
    if args.run:
        known = [r.run_id for r in run_list]
        if args.run not in known:
            raise ValueError(f"--run {args.run!r} is not in notebooks/runs.yaml; runs: {known}")
        run_list = [r for r in run_list if r.run_id == args.run]
    else:
        runs.clear_figures(FIGURES_DIR)
    failures = runs.run_all(run_list, notebooks_dir=NOTEBOOKS_DIR, build_dir=BUILD_DIR / "notebooks",
                            out_dir=FIGURES_DIR)
    print(f"figures: {FIGURES_DIR.relative_to(PROJECT_DIR)}/ ({len(run_list) - len(failures)} of {len(run_list)} "
          "runs succeeded)")
    writeups_status = _render_writeups()
    return 1 if failures or writeups_status else 0


def _render_writeups() -> int:
    """Render every write-up of writeups/ (HTML, PDF, LaTeX tables) from the figures just made."""
    from analysis import writeup

    status = writeup.render_all(WRITEUPS_DIR)
    print(f"write-ups: {WRITEUPS_DIR.relative_to(PROJECT_DIR)}/{writeup.RENDERED}/")
    return status


def cmd_writeup(args) -> int:
    """Render the write-ups (or the one named), or check / re-lock what they cite."""
    from analysis import writeup

    paths = writeup.find_writeups(WRITEUPS_DIR, args.name)
    if args.check:
        failed = 0
        for path in paths:
            problems = writeup.check(path)
            if problems:
                failed = 1
                print(f"{path.name}: {len(problems)} citation(s) changed since the lock (re-read the text, then "
                      f"`python -m analysis writeup {path.stem} --lock`):\n  " + "\n  ".join(problems), file=sys.stderr)
            else:
                print(f"{path.name}: every cited figure, number and table is as locked")
        return failed
    if args.lock:
        for path in paths:
            print(f"locked: {writeup.lock(path).relative_to(PROJECT_DIR)}")
        return 0
    return writeup.render_all(WRITEUPS_DIR, name=args.name)


def cmd_kernel(args) -> int:
    """Install the project's named Jupyter kernel into this environment."""
    from analysis import runs

    runs.install_kernel()
    print(f"kernel {runs.KERNEL_NAME!r} installed")
    return 0


def cmd_lab(args) -> int:
    """Open JupyterLab on the notebooks with the project's kernel (installed first if missing)."""
    import subprocess

    from analysis import runs

    if not runs.kernel_installed():
        runs.install_kernel()
    command = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={PROJECT_DIR}", *args.lab_args]
    return subprocess.run(command, check=False).returncode


def cmd_bench(args) -> int:
    """Time the full pipeline on synthetic corpora of the given sizes (or on the corpus at PATH)."""
    from analysis import bench

    sizes = [int(n) for n in args.sizes.split(",")]
    if any(n < 2 for n in sizes):
        raise ValueError(f"--sizes {args.sizes!r}: every size must be at least 2 articles")
    mapping = {f"{n}_col": getattr(args, f"{n}_col") for n in ("text", "outlet", "id", "date", "title", "group")}
    table, figures = bench.run(args.path, sizes=sizes, workers=args.workers, repeats=args.repeats,
                               ratio_repeats=args.ratio_repeats, seed=args.seed,
                               out=args.out, mapping=mapping, echo=lambda line: print(line, file=sys.stderr))
    print(bench.report(table, figures))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    corpus = sub.add_parser("corpus", help="clean a corpus and write documents, sentences, spans, reports")
    _add_corpus_arguments(corpus)
    corpus.set_defaults(func=cmd_corpus)
    measure = sub.add_parser("measure", help="measure a corpus and write every result table")
    _add_corpus_arguments(measure)
    measure.add_argument("--lexicons", help="comma-separated lexicon CSVs (default: the packaged lexicons)")
    measure.add_argument("--group-a", help="group contrasted with --group-b (besides each group against the rest)")
    measure.add_argument("--group-b", help="second group of the pair (default: rest)")
    measure.add_argument("--dedup", choices=("drop_copies", "keep"), default="drop_copies")
    measure.add_argument("--mask", help="CSV with a `word` column: topic words VADER should treat as neutral")
    measure.add_argument("--actors", help="actors CSV (default: the packaged actors)")
    measure.add_argument("--alpha-0", type=float, help="prior strength of the log-odds (default: corpus word total)")
    measure.add_argument("--seed", type=int, default=0)
    measure.add_argument("--n-boot", type=int, default=2000)
    measure.add_argument("--n-perm", type=int, default=10000)
    measure.add_argument("--doc-intervals", action="store_true", help="bootstrap intervals per document too")
    measure.set_defaults(func=cmd_measure)
    figures = sub.add_parser("figures", help="regenerate the seed results and figures")
    figures.add_argument("--run", help="only this run_id of notebooks/runs.yaml")
    figures.set_defaults(func=cmd_figures)
    bench = sub.add_parser("bench", help="time the full pipeline on synthetic corpora (or a real one) against VADER")
    bench.add_argument("path", nargs="?", help="a real corpus (folder with manifest.csv, or an article table) "
                                               "instead of synthetic ones")
    bench.add_argument("--sizes", default="1000,10000,100000", help="synthetic corpus sizes in articles")
    bench.add_argument("--workers", type=int, default=2, help="worker processes of the timed runs")
    bench.add_argument("--repeats", type=int, default=3, help="cold runs per size and worker count (median shown)")
    bench.add_argument("--ratio-repeats", type=int, default=None,
                       help="times the ratio is measured per size (default: --repeats; 0: not measured)")
    bench.add_argument("--seed", type=int, default=0, help="seed of the synthetic corpora")
    bench.add_argument("--out", help="folder for bench.csv and bench_corpus.csv")
    for name in ("text", "outlet", "id", "date", "title", "group"):
        bench.add_argument(f"--{name}-col", help=f"column of a real article table holding the {name}")
    bench.set_defaults(func=cmd_bench)
    kernel = sub.add_parser("kernel", help="install the framing-lens Jupyter kernel")
    kernel.set_defaults(func=cmd_kernel)
    lab = sub.add_parser("lab", help="open JupyterLab on the project with its kernel")
    lab.set_defaults(func=cmd_lab)
    writeup = sub.add_parser("writeup", help="render the write-ups of writeups/ to HTML and PDF, or check / re-lock "
                                             "the figures and numbers they cite")
    writeup.add_argument("name", nargs="?", help="one write-up (e.g. seed-framing; default: all)")
    mode = writeup.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="fail, naming each, if a cited figure is gone or its data changed or a cited number moved")
    mode.add_argument("--lock", action="store_true", help="record what is cited now, after re-reading the text")
    writeup.set_defaults(func=cmd_writeup)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "lab":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.lab_args = extra  # `lab` passes what it does not know on to jupyter lab
    try:
        return args.func(args)
    except (CorpusError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
