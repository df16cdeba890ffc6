"""VADER (vaderSentiment, Hutto & Gilbert 2014) called so that it does less work for the same scores.

`Analyzer` is vaderSentiment's `SentimentIntensityAnalyzer` with its rules untouched; it only
changes what three of its steps are handed, where the result cannot differ:

- `polarity_scores` first replaces every emoji character by its description, one character at a
  time (about a third of VADER's time on news sentences). A sentence with no emoji character comes
  out of that loop unchanged, so it is handed over as one piece (`_Whole`) and the loop runs once.
- `_negation_check` and `_special_idioms_check` lower-case the whole sentence each time a lexicon
  word is scored, but read at most the three words before it and the two after it (the caller
  guarantees those positions exist). They are handed that window, with the position moved to match.
- Most windows hold nothing either check acts on, and then each returns the valence it was given:
  `_negation_check` acts only on a word of VADER's `NEGATE` list, a word containing "n't", or
  "so" / "this" (its "never so", "never this" and "so" / "this" two words back rules);
  `_special_idioms_check` only where two neighbouring words are two neighbouring words of one of
  VADER's multi-word `SPECIAL_CASES` or `BOOSTER_DICT` entries (every sequence it looks up is made
  of neighbouring words of the window). Such a window is answered without building VADER's strings
  and lists (its `negated` reads the 59 words of `NEGATE` one by one for each word it tests).

`tests/test_vader.py` checks the scores are identical to vaderSentiment's on the seed sentences, on
synthetic benchmark sentences and on sentences made to reach every rule (emoji, negation, idioms,
"but", capitals, boosters).
"""

from __future__ import annotations

from itertools import pairwise

from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE, SPECIAL_CASES, SentimentIntensityAnalyzer

BEFORE, AFTER = 3, 2  # the words the two checks read around the scored word
# The lower-cased words `_negation_check` acts on (besides any word containing "n't").
NEGATION_TRIGGERS = frozenset(NEGATE) | {"so", "this", "never", "without", "doubt"}
# Every two neighbouring words ("a b") of a multi-word idiom or booster VADER looks up.
IDIOM_PAIRS = frozenset(" ".join(pair) for key in (*SPECIAL_CASES, *BOOSTER_DICT)
                        for words in [key.split(" ")] for pair in pairwise(words))


class _Whole(str):
    """A string that iterates as one item (itself as a plain str): VADER's per-character emoji loop
    then appends the text at once, which is what it would build character by character when no
    character is an emoji."""

    def __iter__(self):
        return iter((str(self),))


class Analyzer(SentimentIntensityAnalyzer):
    """vaderSentiment's analyzer, same lexicon and rules, same scores, less work per sentence."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The emoji table as loaded (the project never edits it; an edited `emojis` needs a new Analyzer).
        self._emoji_chars = frozenset(key for key in self.emojis if len(key) == 1)

    def polarity_scores(self, text):
        if isinstance(text, str) and self._emoji_chars.isdisjoint(text) and text not in self.emojis:
            return super().polarity_scores(_Whole(text))
        return super().polarity_scores(text)

    @staticmethod
    def _negation_check(valence, words_and_emoticons, start_i, i):
        if i <= start_i:  # never so from VADER's own caller; the full list keeps any other use exact
            return SentimentIntensityAnalyzer._negation_check(valence, words_and_emoticons, start_i, i)
        low = max(i - BEFORE, 0)
        window = words_and_emoticons[low:i]
        lowered = [str(w).lower() for w in window]
        if NEGATION_TRIGGERS.isdisjoint(lowered) and "n't" not in " ".join(lowered):
            return valence  # no rule of the check can act on these words
        return SentimentIntensityAnalyzer._negation_check(valence, window, start_i, i - low)

    @staticmethod
    def _special_idioms_check(valence, words_and_emoticons, i):
        if i < BEFORE:  # VADER calls it from the third word on; the full list keeps any other use exact
            return SentimentIntensityAnalyzer._special_idioms_check(valence, words_and_emoticons, i)
        window = words_and_emoticons[i - BEFORE:i + AFTER + 1]
        lowered = [str(w).lower() for w in window]
        if all(f"{a} {b}" not in IDIOM_PAIRS for a, b in pairwise(lowered)):
            return valence  # no idiom or booster sequence can be formed from these words
        return SentimentIntensityAnalyzer._special_idioms_check(valence, window, BEFORE)
