"""Words, sentences and voices, checked on passages of the seed articles.

Passages are copied from `seeds/` (000 = NYT repost, 001 = Washington Post in The Province,
002 = NYT, 003 = WSWS, 004 = Global News), as the cleaning step leaves them.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import text

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def tables(passage: str):
    """Sentences and spans of one document whose clean text is `passage` (lines are paragraphs)."""
    documents = pd.DataFrame({"doc_id": ["d"], "clean_text": [passage]})
    sentences, spans = text.build_text_tables(documents)
    return documents, sentences, spans


def voice_of(passage: str, phrase: str, nth: int = 0) -> tuple[str, bool]:
    """Voice and scare flag of the first word of the nth occurrence of `phrase` in `passage`."""
    _, _, spans = tables(passage)
    offset = [m.start() for m in re.finditer(re.escape(phrase), passage)][nth]
    voice, scare = text.voice_at(spans, np.array([offset]))
    return voice[0], bool(scare[0])


def sentence_texts(paragraph: str) -> list[str]:
    return [paragraph[s:e] for s, e in text.split_sentences(paragraph)]


def clean_003() -> str:
    """Seed 003 as the cleaning step leaves it: no blank lines, no Markdown asterisks, and a line
    cut mid-sentence joined to its lower-case continuation."""
    lines = [ln.replace("*", "").strip() for ln in next(SEEDS.glob("003_*.txt")).read_text("utf-8").splitlines()]
    paragraphs: list[str] = []
    for line in filter(None, lines):
        if paragraphs and line[0].islower() and not paragraphs[-1].endswith((".", "?", "!", '"', ":")):
            paragraphs[-1] += " " + line
        else:
            paragraphs.append(line)
    return "\n".join(paragraphs)


# --- Words ------------------------------------------------------------------------------------

def test_words_keep_initialisms_contractions_hyphens_and_numbers_whole():
    passage = "U.S. officials don’t back coup-plotters, H.R. McMaster said: 300 to 400 #Venezuela & friends."
    assert text.words(passage) == ["U.S.", "officials", "don’t", "back", "coup-plotters", "H.R.", "McMaster",
                                   "said", "300", "to", "400", "Venezuela", "friends"]


def test_possessive_apostrophes_and_punctuation_are_not_words():
    assert text.words("The Times' article — the rebels’ plans, “military option.”") == [
        "The", "Times", "article", "the", "rebels", "plans", "military", "option"]


# --- Sentences --------------------------------------------------------------------------------

def test_titles_initials_and_month_abbreviations_do_not_end_sentences():
    paragraph = ("On Feb. 1, Rex W. Tillerson, who was secretary of state at the time, delivered a speech in "
                 "which he said the United States had not “advocated for regime change or removal of President "
                 "Maduro.” Yet, responding to a question afterward, Mr. Tillerson raised the potential for a "
                 "military coup.")
    assert sentence_texts(paragraph) == [
        ("On Feb. 1, Rex W. Tillerson, who was secretary of state at the time, delivered a speech in which he "
        "said the United States had not “advocated for regime change or removal of President Maduro.”"),
        "Yet, responding to a question afterward, Mr. Tillerson raised the potential for a military coup."]


def test_a_five_sentence_seed_paragraph_is_split_exactly():
    paragraph = ("In Venezuela, a coup in 2002 briefly deposed Mr. Maduro’s predecessor, Hugo Chávez. The United "
                 "States knew a plot was being hatched but warned against it, according to a classified document "
                 "that was later made public. The coup took place anyway and the George W. Bush administration "
                 "opened a channel to the new leader. Officials then backed away from the new government after "
                 "popular anger rose against the coup and countries in the region loudly denounced it. Mr. Chávez "
                 "was reinstated as president.")
    assert sentence_texts(paragraph) == [
        "In Venezuela, a coup in 2002 briefly deposed Mr. Maduro’s predecessor, Hugo Chávez.",
        ("The United States knew a plot was being hatched but warned against it, according to a classified "
        "document that was later made public."),
        "The coup took place anyway and the George W. Bush administration opened a channel to the new leader.",
        ("Officials then backed away from the new government after popular anger rose against the coup and "
        "countries in the region loudly denounced it."),
        "Mr. Chávez was reinstated as president."]


def test_dotted_initialisms_and_ms_do_not_end_sentences():
    paragraph = ("“There were differences of opinion,” said Ms. Aponte, the former top Latin America diplomat "
                 "under Mr. Obama. “There were people who had a lot of faith in the idea that they could bring "
                 "about stability, help distribute food, work on practical stuff.”")
    assert len(sentence_texts(paragraph)) == 2
    mcmaster = ("Just before those comments, he had raised the issue privately with senior advisers, asking "
                "then-national security adviser H.R. McMaster: “Why don’t we just invade? We’ve done it in other "
                "parts of the world,” according to current and former officials who said that McMaster "
                "recommended “other approaches.”")
    assert [s[-12:] for s in sentence_texts(mcmaster)] == ["just invade?", "approaches.”"]
    assert sentence_texts("Aid reached the U.S. The next day it left. U.S. officials met.") == [
        "Aid reached the U.S.", "The next day it left.", "U.S. officials met."]


def test_a_closing_quote_stays_with_its_sentence():
    assert sentence_texts("“I’m disappointed,” he said. “But I’m the least affected. I’m not a prisoner.”") == [
        "“I’m disappointed,” he said.", "“But I’m the least affected.", "I’m not a prisoner.”"]
    dictator = ("Trump has denounced Maduro, who took over in 2013 following the death of Hugo Chávez, as a "
                "“dictator.” Maduro has twice been elected president since then in votes widely seen as fraudulent.")
    assert sentence_texts(dictator)[0].endswith("as a “dictator.”")


@pytest.mark.parametrize("paragraph, expected", [
    ("He said ... and left. Then he came back.", ["He said ... and left.", "Then he came back."]),
    ("The vote is set for Dec. 19 in Caracas. Officials said so.",
     ["The vote is set for Dec. 19 in Caracas.", "Officials said so."]),
    ("“He called it ‘a plot.’” Then he left.", ["“He called it ‘a plot.’”", "Then he left."]),
    ("She said, “They called it ‘the regime’ twice.” Nobody answered.",
     ["She said, “They called it ‘the regime’ twice.”", "Nobody answered."]),
    ("  No final stop  ", ["No final stop"]),
    ("", []),
])
def test_constructed_cases_ellipsis_month_and_nested_quotes(paragraph, expected):
    assert sentence_texts(paragraph) == expected


# --- Voices: quotations -----------------------------------------------------------------------

DICTATOR_001 = ("Trump has denounced Maduro, who took over in 2013 following the death of Hugo Chávez, as a "
                "“dictator.” Maduro has twice been elected president since then in votes widely seen as "
                "fraudulent, and has gradually taken over virtually all legislative and judicial power and jailed "
                "numerous political opponents.")


def test_dictator_in_the_post_is_trumps_word_not_the_papers():
    assert voice_of(DICTATOR_001, "dictator") == ("quoted", False)
    assert voice_of(DICTATOR_001, "fraudulent") == ("own", False)
    _, _, spans = tables(DICTATOR_001)
    assert spans[["kind", "speaker"]].values.tolist() == [["speech", "Trump"]]


def test_a_statement_and_a_tweet_are_quoted_speech():
    statement_004 = ("“The United States government hears daily the concerns of Venezuelans from all walks of life "
                     "— be they members of the ruling party, the security services, elements of civil society or "
                     "from among the millions of citizens forced by the regime to flee abroad. They share one goal: "
                     "the rebuilding of democracy in their homeland,” read the statement.")
    assert voice_of(statement_004, "regime") == ("quoted", False)
    tweet_002 = ("“Soldiers eat out of garbage cans & their families go hungry in Venezuela while Maduro & friends "
                 "live like kings & block humanitarian aid,” Mr. Rubio wrote. He then added: “The world would "
                 "support the Armed Forces in #Venezuela if they decide to protect the people & restore democracy "
                 "by removing a dictator.”")
    assert voice_of(tweet_002, "dictator") == ("quoted", False)
    assert tables(tweet_002)[2]["speaker"].tolist()[0] == "Mr. Rubio"


def test_a_colon_introduces_speech_and_a_quote_may_cross_sentences():
    mcmaster_001 = ("Just before those comments, he had raised the issue privately with senior advisers, asking "
                    "then-national security adviser H.R. McMaster: “Why don’t we just invade? We’ve done it in other "
                    "parts of the world,” according to current and former officials who said that McMaster "
                    "recommended “other approaches.”")
    assert voice_of(mcmaster_001, "invade") == ("quoted", False)
    assert voice_of(mcmaster_001, "other parts") == ("quoted", False)
    _, sentences, spans = tables(mcmaster_001)
    first = spans.iloc[0]
    assert (first.kind, first.speaker) == ("speech", "current and former officials")
    assert first.end > sentences.end[0]  # opened in sentence 0, closed in sentence 1


def test_an_unclosed_quote_runs_to_the_end_of_its_paragraph_only():
    passage = "“We will not stop,” he said. “The people are with us and the regime will fall\nThe crowd left."
    assert voice_of(passage, "regime") == ("quoted", False)
    assert voice_of(passage, "crowd") == ("own", False)


def test_nested_single_quotes_belong_to_the_speech_around_them():
    passage = "She said, “They called it ‘the regime’ twice.” Nobody answered."
    _, _, spans = tables(passage)
    assert spans[["start", "end", "kind"]].values.tolist() == [[10, 46, "speech"]]
    assert voice_of(passage, "regime") == ("quoted", False)


def test_apostrophes_are_not_quotation_marks():
    passage = "The Times' article and the rebels’ plans don’t change Venezuela’s view of Maduro’s regime."
    assert tables(passage)[2].empty


# --- Voices: scare quotes and quotation of another outlet (WSWS, seed 003) ---------------------

def test_wsws_meddling_is_the_outlets_own_scare_quote():
    claims = ("The US government's eagerness to plot yet another coup in Latin America exposes the gross hypocrisy "
              "of the claims of Russian \"meddling\" promoted by substantial sections of the American bourgeoisie "
              "and media.")
    assert voice_of(claims, "meddling") == ("own", True)
    previous = ("This has included interventions by the ostensible Democratic Party opposition to Trump, including "
                "the Honduran coup of 2009 supported by then-president Barack Obama. This is to say nothing of "
                "previous US \"meddling,\" such as the coups against Guatemala's Jacobo Árbenz in 1954.")
    assert voice_of(previous, "meddling") == ("own", True)


def test_every_quotation_in_the_wsws_article_and_its_label():
    clean = clean_003()
    _, _, spans = tables(clean)
    quotes = spans[spans.kind != "reported"]
    found = [(clean[s:e].strip("\",."), kind, speaker) for s, e, kind, speaker
             in quotes[["start", "end", "kind", "speaker"]].itertuples(index=False)]
    short = [row for row in found if text.count_words(row[0]) < text.LONG_QUOTE_WORDS]
    assert short == [
        ("commander", "speech", "the Times"),  # The Times' article is based upon interviews with ...
        ("military option", "speech", "the Times"),  # According to the Times' account
        ("European country", "speech", "the Times"),  # next sentence: According to another Times source
        ("purely on listening mode", "speech", "the Times"),  # the Times' source says
        ("distinct", "speech", "the Times"),  # According to the Times article
        ("meddling", "scare", ""),  # This is to say nothing of previous US "meddling,"
        ("meddling", "scare", ""),  # the claims of Russian "meddling"
    ]
    longer = [(quote[:24], kind, speaker) for quote, kind, speaker in found if (quote, kind, speaker) not in short]
    assert longer == [
        ("current and former Ameri", "speech", "the Times"),  # 11 anonymous "current and former ..."
        ("began last fall and cont", "speech", "the Times"),  # It details ...: a long quote; cited report
        ("It was the commander in ", "speech", "the officer"),
        ("I'm not going to doubt i", "speech", "the officer"),
        ("we had very little confi", "speech", "another official familiar with the talks"),
        ("In the history of Venezu", "speech", ""),  # Tillerson ... made the statement, "..."
        ("there is a very strong a", "speech", ""),  # Rubio, saying in an interview ... that "..."
        ("We're running out of tim", "speech", "the Washington Post"),  # published an editorial entitled
    ]


# --- Voices: reported speech ------------------------------------------------------------------

CLAIMING_002 = ("Even so, Mr. Maduro has long justified his grip on Venezuela by claiming that Washington "
                "imperialists are actively trying to depose him, and the secret talks could provide him with "
                "ammunition to chip away at the region’s nearly united stance against him.")


def test_imperialists_is_maduros_claim_reported_by_the_times():
    assert voice_of(CLAIMING_002, "imperialists") == ("reported", False)
    assert voice_of(CLAIMING_002, "ammunition") == ("own", False)  # ", and" + new clause ends the report
    _, _, spans = tables(CLAIMING_002)
    (span,) = spans.itertuples()
    assert CLAIMING_002[span.start:span.end] == "Washington imperialists are actively trying to depose him"
    assert (span.kind, span.speaker) == ("reported", "Mr. Maduro")


def test_an_accusation_of_plotting_is_reported():
    accused_001 = ("Maduro has frequently accused the United States of plotting with his opponents, and of economic "
                   "and actual warfare against him.")
    assert voice_of(accused_001, "plotting") == ("reported", False)
    assert voice_of(accused_001, "warfare") == ("reported", False)
    assert tables(accused_001)[2]["speaker"].tolist() == ["Maduro"]


def test_a_declaration_that_drew_condemnation_is_the_papers_own_words():
    declared_002 = ("Then in August of last year, President Trump declared that the United States had a “military "
                    "option” for Venezuela — a declaration that drew condemnation from American allies in the "
                    "region but encouraged rebellious Venezuelan military officers to reach out to Washington once "
                    "again.")
    assert voice_of(declared_002, "United States") == ("reported", False)
    assert voice_of(declared_002, "military") == ("quoted", False)
    assert voice_of(declared_002, "condemnation") == ("own", False)


@pytest.mark.parametrize("passage", [
    "The officers asked for encrypted radios so that they could securely coordinate their plot.",
    "Now that the talks are public, the fact that officials met is no secret.",
    "Rubio wrote a series of Twitter posts that encouraged dissident members of the armed forces.",
    "The attacks have added to the sense that the president is vulnerable.",
])
def test_that_after_a_noun_or_in_so_that_and_now_that_stays_own(passage):
    assert tables(passage)[2].empty


# --- Tables and invariants --------------------------------------------------------------------

def test_sentence_table_has_the_contract_columns_and_offsets_into_clean_text():
    documents, sentences, spans = tables(DICTATOR_001 + "\n" + CLAIMING_002)
    assert list(sentences.columns) == text.SENTENCE_COLUMNS
    assert list(spans.columns) == text.SPAN_COLUMNS
    clean = documents.clean_text[0]
    assert all(clean[s:e] == t for s, e, t in sentences[["start", "end", "text"]].itertuples(index=False))
    assert sentences.sentence_id.tolist() == [0, 1, 2]
    assert spans.sentence_id.tolist() == [0, 2]
    assert sentences.share_reported[2] == pytest.approx(8 / text.count_words(CLAIMING_002))


def test_sections_come_from_the_paragraphs_table():
    passage = "Coup talks: report\nMaduro has frequently accused the United States of plotting with his opponents."
    documents = pd.DataFrame({"doc_id": ["d"], "clean_text": [passage]})
    paragraphs = pd.DataFrame({"doc_id": ["d", "d"], "paragraph_id": [0, 1], "section": ["headline", "body"],
                               "start": [0, 19], "end": [18, len(passage)]})
    sentences, _ = text.build_text_tables(documents, paragraphs)
    assert sentences.section.tolist() == ["headline", "body"]
    totals = text.word_voice_totals(documents, sentences, text.build_text_tables(documents, paragraphs)[1])
    assert totals.query("section == 'body' and voice == 'reported'").n_words.sum() == 4  # plotting ... opponents


def test_bad_inputs_are_named_in_the_error():
    with pytest.raises(ValueError, match=r"documents lacks column\(s\) \['clean_text'\]"):
        text.build_text_tables(pd.DataFrame({"doc_id": ["d"], "text": ["x"]}))
    paragraphs = pd.DataFrame({"doc_id": ["d"], "section": ["footer"], "start": [0], "end": [1]})
    with pytest.raises(ValueError, match=r"\['footer'\] are not one of \['headline', 'deck', 'body'"):
        text.build_text_tables(pd.DataFrame({"doc_id": ["d"], "clean_text": ["x"]}), paragraphs)


NEWSY = st.lists(st.sampled_from(list("ab Z.?!,;:'\"“”‘’—\n…") + ["Mr.", " said ", " that ", " of ", "U.S.",
                                                                     " accused ", " Times' article "]),
                 max_size=60).map("".join)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(NEWSY)
def test_every_word_is_in_exactly_one_voice(passage):
    documents, sentences, spans = tables(passage)
    totals = text.word_voice_totals(documents, sentences, spans)
    per_sentence = totals.groupby("sentence_id").n_words.sum().reindex(sentences.sentence_id, fill_value=0)
    assert per_sentence.tolist() == sentences.n_words.tolist()
    assert totals.n_words.sum() == text.count_words(passage)
    assert set(totals.voice) <= set(text.VOICES)
    starts, ends = spans.start.to_numpy(), spans.end.to_numpy()
    assert (starts < ends).all() and (ends[:-1] <= starts[1:]).all()  # ordered, not overlapping


@FAST
@given(NEWSY)
def test_sentences_are_ordered_disjoint_and_inside_the_paragraph(paragraph):
    bounds = text.split_sentences(paragraph)
    flat = [x for pair in bounds for x in pair]
    assert flat == sorted(flat) and all(s < e for s, e in bounds)
    assert all(0 <= s and e <= len(paragraph) for s, e in bounds)
    assert all(paragraph[s:e] == paragraph[s:e].strip() for s, e in bounds)


@FAST
@given(st.text(max_size=80))
def test_words_agree_with_count_words_and_word_spans(passage):
    found = text.words(passage)
    starts, ends = text.word_spans(passage)
    assert text.count_words(passage) == len(found)
    assert [passage[s:e] for s, e in zip(starts, ends)] == found


@given(st.text(alphabet="ab’'-. \n“”", max_size=40))
def test_straightening_curly_apostrophes_keeps_every_word_boundary(raw):
    # term_counts straightens ’ in each word found in the clean text rather than in the text
    starts, ends, found = text.words_with_spans(raw)
    s2, e2, straight = text.words_with_spans(raw.replace("’", "'"))
    assert starts.tolist() == s2.tolist() and ends.tolist() == e2.tolist()
    assert [w.replace("’", "'") for w in found] == straight
