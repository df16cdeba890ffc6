"""VADER (vaderSentiment, Hutto & Gilbert 2014) called so that it does less work for the same scores.

`Analyzer` is vaderSentiment's `SentimentIntensityAnalyzer` with its rules untouched; it only
changes what three of its steps are handed, and which words reach its rules, where the result
cannot differ:

- `polarity_scores` first replaces every emoji character by its description, one character at a
  time (about a third of VADER's time on news sentences). A sentence with no emoji character comes
  out of that loop unchanged (stripped), so for such a sentence the loop is skipped.
- It then hands every word to `sentiment_valence`, which gives 0 to a word not in the lexicon (nine
  in ten words of news text) without reading anything else, and appends the word's valence to the
  list it is given without reading that list. For a sentence with no emoji character, only the
  lexicon's words are handed over (in VADER's order, with the same booster and "kind of" rules
  before them) and every other word's valence is that 0; the "but" rule and the scoring that follow
  are VADER's own, on the same list.
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

import string
from itertools import pairwise

from vaderSentiment.vaderSentiment import (
    BOOSTER_DICT,
    NEGATE,
    SPECIAL_CASES,
    SentimentIntensityAnalyzer,
    SentiText,
)

BEFORE, AFTER = 3, 2  # the words the two checks read around the scored word
# The lower-cased words without which `_negation_check` leaves a valence as it is (besides any word
# containing "n't"): its rules all need a word of NEGATE ("never so", "without doubt" included: both
# words are in it), except the one VADER's operator precedence gives "so" or "this" alone before
# the scored word.
NEGATION_TRIGGERS = frozenset(NEGATE) | {"so", "this"}
# Every two neighbouring words ("a b") of a multi-word idiom or booster VADER looks up.
IDIOM_PAIRS = frozenset(" ".join(pair) for key in (*SPECIAL_CASES, *BOOSTER_DICT)
                        for words in [key.split(" ")] for pair in pairwise(words))


class _SentiText(SentiText):
    """VADER's `SentiText`: its words are the text split on whitespace, each with the punctuation at
    its ends stripped unless two characters or fewer would be left (an emoticon such as ":)"); the
    same rule, written as one comprehension rather than a function call a word."""

    def _words_and_emoticons(self):
        return [token if len(stripped := token.strip(string.punctuation)) <= 2 else stripped
                for token in self.text.split()]


class Analyzer(SentimentIntensityAnalyzer):
    """vaderSentiment's analyzer, same lexicon and rules, same scores, less work per sentence."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The emoji table as loaded (the project never edits it; an edited `emojis` needs a new Analyzer).
        self._emoji_chars = frozenset(key for key in self.emojis if len(key) == 1)

    def polarity_scores(self, text):
        if not (isinstance(text, str) and self._emoji_chars.isdisjoint(text)):
            return super().polarity_scores(text)  # VADER's own emoji loop first
        text = text.strip()  # what that loop gives back for a sentence without emoji
        sentitext = _SentiText(text)
        words = sentitext.words_and_emoticons
        lowered = [word.lower() for word in words]
        sentiments = [0] * len(words)  # VADER's valence of a word it does not score
        lexicon, last = self.lexicon, len(words) - 1
        for i, low in enumerate(lowered):
            if low not in lexicon or low in BOOSTER_DICT or (low == "kind" and i < last and lowered[i + 1] == "of"):
                continue
            [sentiments[i]] = self.sentiment_valence(0, sentitext, words[i], i, [])
        if "but" in lowered:  # VADER's "but" rule changes nothing in a sentence without one
            sentiments = self._but_check(words, sentiments)
        return self.score_valence(sentiments, text)

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
