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


# --------------------------------------------------------------------------- news-like articles
#
# Sentences are built from clause frames (subject, verb, object, prepositional phrase) whose slots
# are filled from word classes taken from a seed corpus, so almost every sentence is new while the
# words stay the seeds'. Attribution frames wrap clauses in quoted or reported speech at the seeds'
# rates; lexicon terms (the surfaces the seeds matched) are inserted at each category's seed rate.

_DETERMINERS = ("the", "the", "the", "a", "this", "their", "its", "another", "several", "many")
_PREPOSITIONS = ("in", "on", "over", "after", "before", "during", "against", "with", "across", "under", "near")
_CONJUNCTIONS = ("and", "but", "while", "as", "because", "although", "after", "since")
_ADJECTIVE_ENDINGS = ("al", "ive", "ous", "ic", "ary", "ent", "ant", "ful", "less", "able", "ish")
_MONTHS = ("January", "February", "March", "April", "June", "July", "August", "September", "October")
_QUOTE_FRAMES = ("“{q},” {s} said.", "{s} said: “{q}.”", "“{q},” {s} told reporters.", "“{q},” said {s}.")
_REPORT_FRAMES = ("{s} said that {q}.", "{s} told reporters that {q}.", "{s} argued that {q}.")
_BOILERPLATE = ("Story continues below", "READ MORE: {headline}", "WATCH: {headline}")
NEWS_COLUMNS = ["id", "outlet", "group", "date", "title", "url", "author", "body"]


def seed_profile(corpus, matches: pd.DataFrame) -> dict:
    """What the generator copies from a real corpus: word classes of its body sentences (words that
    match no lexicon), the lexicon surfaces it matched per (lexicon, category) with their pooled
    rate per word, its quoted and reported word shares and its sentences (never to be reproduced).
    `corpus`: a loaded Corpus; `matches`: its matches table (scare quotes are left out)."""
    sentences = corpus.sentences
    body = sentences.loc[sentences["section"] == "body", "text"]
    matched = {w.lower() for m in matches["match"] for w in m.split()}
    tokens = [s.replace("’s", "").replace(",", "").rstrip(".").split() for s in body]
    lower = sorted({w for t in tokens for w in t if w.isalpha() and w.islower() and len(w) > 2} - matched)
    after_the = {t[k + 1] for t in tokens for k in range(len(t) - 1) if t[k].lower() == "the"}
    nouns = [w for w in lower if w in after_the and not w.endswith("ly")]
    verbs = [w for w in lower if w.endswith("ed") and w not in after_the]
    adjectives = [w for w in lower if w.endswith(_ADJECTIVE_ENDINGS) and w not in nouns]
    names = sorted({w for t in tokens for w in t[1:] if w.isalpha() and w[:1].isupper() and w[1:].islower()
                    and w.lower() not in lower and len(w) > 2})
    n_words = int(sentences["n_words"].sum())
    share = {v: float((sentences[f"share_{v}"] * sentences["n_words"]).sum() / n_words) for v in ("quoted", "reported")}
    lexical = matches.loc[matches["category"] != "scare_quote"]
    categories = {f"{lex}/{cat}": {"rate": len(group) / n_words, "surfaces": sorted(set(group["match"]))}
                  for (lex, cat), group in lexical.groupby(["lexicon", "category"])}
    return {"nouns": nouns, "verbs": verbs, "adjectives": adjectives, "names": names, "share": share,
            "categories": categories, "mean_words": float(sentences["n_words"].mean()),
            "seed_sentences": set(sentences["text"])}


class _Writer:
    """One article's sentences from the profile, with a `random.Random` (fast and seedable)."""

    def __init__(self, profile: dict, rng):
        self.p, self.rng = profile, rng
        cats = profile["categories"]
        self.categories = [(c["rate"], c["surfaces"]) for _, c in sorted(cats.items())]

    def name(self) -> str:
        names = self.p["names"]
        return f"{self.rng.choice(names)} {self.rng.choice(names)}"

    def phrase(self) -> str:
        r, p = self.rng, self.p
        adjective = f"{r.choice(p['adjectives'])} " if r.random() < 0.4 else ""
        return f"{r.choice(_DETERMINERS)} {adjective}{r.choice(p['nouns'])}"

    def clause(self) -> list[str]:
        r = self.rng
        words = [*self.phrase().split(), r.choice(self.p["verbs"]), *self.phrase().split()]
        if r.random() < 0.7:
            words += [r.choice(_PREPOSITIONS), *self.phrase().split()]
        if r.random() < 0.15:
            words += ["in", r.choice(_MONTHS), str(r.randint(1990, 2030))]
        elif r.random() < 0.15:
            words += ["with", str(r.randint(2, 900)), r.choice(self.p["nouns"])]
        return words

    def body(self, target: int) -> list[str]:
        """At least `target` words: clauses joined by conjunctions, lexicon terms inserted at their
        seed rates per word."""
        words = self.clause()
        while len(words) < target:
            words += [",", self.rng.choice(_CONJUNCTIONS), *self.clause()]
        n = len(words)
        for rate, surfaces in self.categories:
            expected = rate * n
            count = int(expected) + (self.rng.random() < expected - int(expected))
            for _ in range(count):
                words.insert(self.rng.randint(1, len(words) - 1), self.rng.choice(surfaces))
        return words

    def sentence(self) -> str:
        r, share = self.rng, self.p["share"]
        target = max(8, int(r.gauss(self.p["mean_words"] - 5, 6)))
        text = " ".join(self.body(target)).replace(" ,", ",")
        kind = r.random()
        if kind < share["quoted"] * 1.1:
            return r.choice(_QUOTE_FRAMES).format(q=text[0].upper() + text[1:], s=self.name())
        if kind < share["quoted"] * 1.1 + share["reported"] * 1.6:
            return r.choice(_REPORT_FRAMES).format(q=text, s=self.name())
        return text[0].upper() + text[1:] + "."


def news_articles(profile: dict, n: int, *, seed: int = 0, n_outlets: int = 40, copy_share: float = 0.2,
                  boilerplate_share: float = 0.3, sentences_per_article: tuple[int, int] = (8, 30)) -> pd.DataFrame:
    """`n` invented news articles (columns as `folder_as_table`) written from `seed_profile`.

    Each original has 8 to 30 new sentences in paragraphs of one to three, a headline, and with
    `boilerplate_share` a line the cleaning rules remove ("Story continues below", "READ MORE: ...").
    `copy_share` of the articles repost an earlier original under another outlet with one added
    line (syndication). Deterministic for a seed; the first k articles of n are those of k.
    """
    import random

    rng = random.Random(seed)
    writer = _Writer(profile, rng)
    outlets = [f"Synthetic Outlet {i + 1:02d}" for i in range(n_outlets)]
    rows, originals = [], []
    for i in range(n):
        outlet = rng.randrange(n_outlets)
        if originals and rng.random() < copy_share:
            source = rows[rng.choice(originals)]
            outlet = (outlets.index(source["outlet"]) + 1 + rng.randrange(n_outlets - 1)) % n_outlets
            body = f"{source['body']}\n\nThis story first appeared in {source['outlet']}."
            title = source["title"]
        else:
            originals.append(i)
            title = " ".join(writer.clause()[:9]).capitalize()
            paragraphs, left = [], rng.randint(*sentences_per_article)
            while left > 0:
                step = min(left, rng.randint(1, 3))
                paragraphs.append(" ".join(writer.sentence() for _ in range(step)))
                left -= step
            if rng.random() < boilerplate_share:
                line = rng.choice(_BOILERPLATE).format(headline=title)
                paragraphs.insert(rng.randint(1, len(paragraphs)), line)
            body = "\n\n".join(paragraphs)
        rows.append({"id": f"news{i:07d}", "outlet": outlets[outlet],
                     "group": SYNTHETIC_GROUPS[outlet % len(SYNTHETIC_GROUPS)],
                     "date": f"2018-{1 + i % 12:02d}-{1 + i % 28:02d}", "title": title, "url": "",
                     "author": "", "body": body})
    return pd.DataFrame(rows, columns=NEWS_COLUMNS)
