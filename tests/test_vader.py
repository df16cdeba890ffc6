"""analysis.vader.Analyzer gives vaderSentiment's scores, to the bit, on every kind of sentence its
shortcuts touch: emoji or none, negations, idioms, "but", "least", capitals, boosters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from vaderSentiment.vaderSentiment import BOOSTER_DICT, NEGATE, SPECIAL_CASES, SentimentIntensityAnalyzer

from analysis.vader import Analyzer

STOCK, FAST = SentimentIntensityAnalyzer(), Analyzer()

# Real seed passages and sentences built to reach each rule the shortcuts hand a window to.
SENTENCES = [
    "Maduro's regime is not a legitimate government, a senior official said.",
    "“It’s not the kind of thing we would ever support,” the official said.",
    "The plan was never so good, and without doubt it failed badly.",
    "He is the least trusted leader, but the coup plotters were at least organised.",
    "No one was hurt, nor was anyone arrested; no good came of it.",
    "It was kind of a disaster, sort of a farce, and the bomb was a HUGE failure!!!",
    "They were not very happy about it at all, really, isn't it sad?",
    "The talks kiss of death came when the officers left, yeah right.",
    "The officers cut me some slack, to die for, a hard rock deal?",
    "Great 😁 news from Caracas 💘 today",
    "😁",
    "Terrible news:💋 the plot failed",
    "The army was barely   stable,\tand   the people were   extremely UPSET .",
    "",
    "   ",
    ":) :( :D <3 lol",
    "hardly good, never bad, without doubt great, never this good",
]

RULE_WORDS = """
the a of and but not no nor never so this without doubt least at very kind sort or yet
isn't don't won't aint hardly barely rarely seldom extremely really absolutely
good bad great terrible happy sad love hate kill coup regime dictator peace crisis GOOD BAD GREAT KILL The Army
! ? !! ?? :) :( 😁 💘 💋 “ ” , . —
"""
IDIOMS = ["kiss of death", "yeah right", "cut me some slack", "to die for", "hard rock", "the bomb", "bad ass"]
# Every word the negation and idiom shortcuts test for, as VADER spells it and in capitals, and
# words that hold "n't" without being in VADER's list.
TRIGGER_WORDS = sorted({w for key in (*NEGATE, *SPECIAL_CASES, *BOOSTER_DICT) for w in key.split()})
SHORTCUT_WORDS = [*TRIGGER_WORDS, *(w.upper() for w in TRIGGER_WORDS), "So", "THIS", "Never", "shouldn't've",
                  "WASN'T", "y'all", "n't", "heart", "death"]
VOCABULARY = sorted({*RULE_WORDS.split(), *IDIOMS, *SHORTCUT_WORDS})


def assert_same(text: str) -> None:
    assert FAST.polarity_scores(text) == STOCK.polarity_scores(text), text


@pytest.mark.parametrize("text", SENTENCES)
def test_scores_equal_vaders_own_on_sentences_made_to_reach_every_rule(text):
    assert_same(text)


@given(st.lists(st.sampled_from(VOCABULARY), max_size=30), st.sampled_from([" ", "  ", "\t", ""]))
def test_scores_equal_vaders_own_on_any_sequence_of_rule_words(words, separator):
    assert_same(separator.join(words))


@given(st.text(max_size=80))
def test_scores_equal_vaders_own_on_any_text(text):
    assert_same(text)


def test_the_shortcuts_are_taken_and_the_emoji_loop_kept_for_emoji(monkeypatch):
    windows, handed, scored = [], [], []
    monkeypatch.setattr(SentimentIntensityAnalyzer, "_special_idioms_check",
                        staticmethod(lambda valence, words, i: windows.append((list(words), i)) or valence))
    stock_scores, stock_valence = SentimentIntensityAnalyzer.polarity_scores, SentimentIntensityAnalyzer.sentiment_valence
    monkeypatch.setattr(SentimentIntensityAnalyzer, "polarity_scores",
                        lambda self, text: handed.append(text) or stock_scores(self, text))
    monkeypatch.setattr(SentimentIntensityAnalyzer, "sentiment_valence",
                        lambda self, valence, sentitext, item, i, sentiments:
                        scored.append(item) or stock_valence(self, valence, sentitext, item, i, sentiments))
    FAST.polarity_scores("one two three four five six seven eight nine ten good news")
    assert windows == []  # no idiom or booster pair near "good": answered without VADER's check
    assert scored == ["good"]  # the one lexicon word; the others are VADER's 0 without a call
    FAST.polarity_scores("one two three four five six seven eight nine kind of good news, very BAD")
    assert windows and all(len(words) <= 6 and words[i] == "good" for words, i in windows)
    assert scored == ["good", "good", "BAD"]  # not "kind" before "of", nor the booster "very"
    assert handed == []  # without emoji, VADER's character loop is not run
    FAST.polarity_scores("good news 😁")
    assert handed == ["good news 😁"]
