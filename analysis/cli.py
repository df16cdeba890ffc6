"""Command line: `python -m analysis corpus|measure|figures ...` (one entry for everything a user runs)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from analysis.corpus import CorpusError

PROJECT_DIR = Path(__file__).resolve().parent.parent
SEEDS_DIR = PROJECT_DIR / "seeds"
SEED_RESULTS_DIR = PROJECT_DIR / "results" / "seeds"


def _add_corpus_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="folder of .txt files with manifest.csv, or a CSV / JSONL / Parquet table")
    parser.add_argument("--out", required=True, help="folder to write the tables to")
    for name in ("text", "outlet", "id", "date", "title", "url", "author", "group"):
        parser.add_argument(f"--{name}-col", help=f"column of an article table holding the {name}")
    parser.add_argument("--grouping", help="CSV with columns outlet,group, or a documents column")
    parser.add_argument("--rules", help="boilerplate rules CSV (default: the packaged rules)")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")


def _corpus_kwargs(args) -> dict:
    names = ("text", "outlet", "id", "date", "title", "url", "author", "group")
    return {f"{n}_col": getattr(args, f"{n}_col") for n in names} | {"grouping": args.grouping, "rules": args.rules}


def cmd_corpus(args) -> int:
    from analysis.pipeline import load_corpus

    corpus = load_corpus(args.path, **_corpus_kwargs(args))
    for path in corpus.write(args.out, fmt=args.format):
        print(path)
    return 0


def cmd_measure(args) -> int:
    from analysis.pipeline import load_corpus, measure

    corpus = load_corpus(args.path, **_corpus_kwargs(args))
    lexicons = args.lexicons.split(",") if args.lexicons else None
    measure(corpus, out=args.out, lexicons=lexicons, grouping=args.grouping, group_a=args.group_a,
            group_b=args.group_b, dedup=args.dedup, mask=args.mask, actors=args.actors, alpha_0=args.alpha_0,
            seed=args.seed, engine=args.engine, workers=args.workers, n_boot=args.n_boot, n_perm=args.n_perm,
            doc_intervals=args.doc_intervals, fmt=args.format)
    print(f"tables written to {args.out}")
    return 0


def cmd_figures(args) -> int:
    """Regenerate everything derived from the seeds: the committed seed result tables."""
    from analysis.pipeline import load_corpus, measure

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the seeds must load without a single exclusion
        corpus = load_corpus(SEEDS_DIR)
    measure(corpus, out=SEED_RESULTS_DIR)
    for path in sorted(SEED_RESULTS_DIR.iterdir()):
        print(path.relative_to(PROJECT_DIR))
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
    measure.add_argument("--engine", default="pandas")
    measure.add_argument("--workers", type=int, default=1)
    measure.add_argument("--n-boot", type=int, default=2000)
    measure.add_argument("--n-perm", type=int, default=10000)
    measure.add_argument("--doc-intervals", action="store_true", help="bootstrap intervals per document too")
    measure.set_defaults(func=cmd_measure)
    figures = sub.add_parser("figures", help="regenerate the seed results and figures")
    figures.set_defaults(func=cmd_figures)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CorpusError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
