"""Synthetic article tables for tests and benchmarks, built from a real corpus's sentences.

Nothing here is evidence about any outlet: the outlets are invented, and each article is a random
draw of another corpus's body sentences (some with one word swapped, so not every sentence repeats),
plus a share of syndicated copies, so duplicate detection and the VADER cache have work to do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.corpus import read_manifest

SYNTHETIC_GROUPS = ("newspaper", "broadcaster", "socialist_press", "wire_service")


def folder_as_table(folder: str | Path) -> pd.DataFrame:
    """A folder corpus (manifest.csv + .txt) as an article table: id, outlet, group, date, title, url,
    author, body (the file's text)."""
    folder = Path(folder)
    manifest = read_manifest(folder / "manifest.csv")
    return pd.DataFrame({
        "id": manifest["doc_id"], "outlet": manifest["outlet"], "group": manifest["outlet_group"],
        "date": manifest["published"], "title": manifest["headline"], "url": manifest["url"],
        "author": manifest["author"],
        "body": [(folder / name).read_text(encoding="utf-8") for name in manifest["file"]],
    })


def synthetic_articles(sentences: pd.DataFrame, n: int, *, seed: int = 0, n_outlets: int = 8,
                       sentences_per_article: tuple[int, int] = (8, 30), swap_share: float = 0.5,
                       copy_share: float = 0.02) -> pd.DataFrame:
    """`n` articles drawn from `sentences` (a corpus's sentences table; its body sentences are used).

    Columns as `folder_as_table`. Paragraphs hold one to three sentences; `swap_share` of the
    sentences get one word replaced by another word of the pool; `copy_share` of the articles
    repost an earlier article's body under another outlet with one added line.
    """
    rng = np.random.default_rng(seed)
    pool = sentences.loc[sentences["section"] == "body", "text"].drop_duplicates().tolist()
    if not pool:
        raise ValueError("sentences has no body sentence to draw from")
    vocabulary = sorted({w for s in pool for w in s.split() if w.isalpha() and w.islower() and len(w) > 3})
    outlets = [f"Synthetic Outlet {i + 1}" for i in range(n_outlets)]
    rows = []
    for i in range(n):
        outlet = int(rng.integers(n_outlets))
        if rows and rng.random() < copy_share:
            original = rows[int(rng.integers(len(rows)))]
            body = original["body"] + "\n\nThis story first appeared elsewhere and is reposted here."
        else:
            picked = [pool[j] for j in rng.integers(len(pool), size=int(rng.integers(*sentences_per_article)))]
            picked = [_swap_word(s, vocabulary, rng) if rng.random() < swap_share else s for s in picked]
            paragraphs, k = [], 0
            while k < len(picked):
                step = int(rng.integers(1, 4))
                paragraphs.append(" ".join(picked[k:k + step]))
                k += step
            body = "\n\n".join(paragraphs)
        title_words = pool[int(rng.integers(len(pool)))].split()[:10]
        rows.append({"id": f"syn{i:06d}", "outlet": outlets[outlet],
                     "group": SYNTHETIC_GROUPS[outlet % len(SYNTHETIC_GROUPS)],
                     "date": f"2018-09-{1 + i % 28:02d}", "title": " ".join(title_words).rstrip(".,;:"),
                     "url": "", "author": "", "body": body})
    return pd.DataFrame(rows, columns=["id", "outlet", "group", "date", "title", "url", "author", "body"])


def _swap_word(sentence: str, vocabulary: list[str], rng: np.random.Generator) -> str:
    words = sentence.split(" ")
    candidates = [k for k, w in enumerate(words) if w.isalpha() and w.islower()]
    if not candidates or not vocabulary:
        return sentence
    words[candidates[int(rng.integers(len(candidates)))]] = vocabulary[int(rng.integers(len(vocabulary)))]
    return " ".join(words)
