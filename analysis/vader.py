"""VADER (vaderSentiment, Hutto & Gilbert 2014) called so that it does less work for the same scores.

`Analyzer` is vaderSentiment's `SentimentIntensityAnalyzer` with its rules untouched; it only
changes what three of its steps are handed, where the result cannot differ:

- `polarity_scores` first replaces every emoji character by its description, one character at a
  time (about a third of VADER's time on news sentences). A sentence with no emoji character comes
  out of that loop unchanged, so it is handed over as one piece (`_Whole`) and the loop runs once.
- `_negation_check` and `_special_idioms_check` lower-case the whole sentence each time a lexicon
  word is scored, but read at most the three words before it and the two after it (the caller
  guarantees those positions exist). They are handed that window, with the position moved to match.

`tests/test_vader.py` checks the scores are identical to vaderSentiment's on the seed sentences, on
synthetic benchmark sentences and on sentences made to reach every rule (emoji, negation, idioms,
"but", capitals, boosters).
"""

from __future__ import annotations

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

BEFORE, AFTER = 3, 2  # the words the two checks read around the scored word


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
        return SentimentIntensityAnalyzer._negation_check(valence, words_and_emoticons[low:i], start_i, i - low)

    @staticmethod
    def _special_idioms_check(valence, words_and_emoticons, i):
        if i < BEFORE:  # VADER calls it from the third word on; the full list keeps any other use exact
            return SentimentIntensityAnalyzer._special_idioms_check(valence, words_and_emoticons, i)
        window = words_and_emoticons[i - BEFORE:i + AFTER + 1]
        return SentimentIntensityAnalyzer._special_idioms_check(valence, window, BEFORE)
