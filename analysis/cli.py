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


def cmd_figures(args) -> int:
    """Regenerate everything derived from the seeds (for now: the committed seed corpus tables)."""
    from analysis.pipeline import load_corpus

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the seeds must load without a single exclusion
        corpus = load_corpus(SEEDS_DIR)
    for path in corpus.write(SEED_RESULTS_DIR):
        print(path.relative_to(PROJECT_DIR))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    corpus = sub.add_parser("corpus", help="clean a corpus and write documents, sentences, spans, reports")
    _add_corpus_arguments(corpus)
    corpus.set_defaults(func=cmd_corpus)
    figures = sub.add_parser("figures", help="regenerate the seed results and figures")
    figures.set_defaults(func=cmd_figures)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
