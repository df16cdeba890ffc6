# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python (framing-lens)
#     language: python
#     name: framing-lens
# ---

# %% [markdown]
# # Outlet profile
#
# How one outlet frames the story: its loaded terms by category and voice, its hedges and boosters,
# the tone of its sentences along the article, the names and labels it gives each actor, and whom it
# quotes with which verbs. Every count can be read in context at the end.

# %% tags=["parameters"]
corpus_path = "../seeds"
text_col = None
outlet_col = None
id_col = None
grouping = None
outlet = "World Socialist Web Site"
categories = None
seed = 0
run_id = "profile-wsws"
out_dir = "../build/figures"

# %%
from analysis import measures, plots
from analysis.figures import caption_for_intervals
from analysis.notebook import start

results, writer = start("02_outlet_profile.ipynb", globals())
corpus = results.corpus
estimates = results["estimates"]
doc_ids = sorted(corpus.documents.loc[corpus.documents["outlet"] == outlet, "doc_id"])

# %% [markdown]
# ## Loaded terms in the outlet's own voice
#
# Rate per 1,000 of the outlet's own words, by category, with a bootstrap interval. Words the outlet
# quotes are not counted here: a newspaper quoting Trump calling Maduro a "dictator" is not the
# newspaper calling him one. With one article the interval resamples its sentences and shows
# within-article variation only.

# %%
fig, data = plots.rates_plot(estimates, unit_type="outlet", lexicon="loaded", categories=categories,
                             voice="own", units=[outlet])
writer.save(fig, data, "loaded-own", title=f"Loaded terms in the own voice of {outlet}",
             caption=f"Loaded terms per 1,000 words of {outlet}'s own voice, by lexicon category. "
                     + caption_for_intervals(data))

# %% [markdown]
# ## Own words against quoted and reported words
#
# The same loaded-term rate in each voice. A high quoted rate with a low own rate means the outlet
# reports others' charged words without adopting them.

# %%
fig, data = plots.voice_rates_plot(estimates, unit_type="outlet", lexicon="loaded", units=[outlet])
writer.save(fig, data, "loaded-by-voice", title=f"Loaded terms by voice in {outlet}",
             caption=f"Loaded terms per 1,000 words in {outlet}'s own voice, in quotations and in reported "
                     "speech; each rate divides by the words of that voice. " + caption_for_intervals(data))

# %% [markdown]
# ## Hedges and boosters
#
# Hedges ("reportedly", "may", "purporting to") distance the outlet from a claim; boosters ("indeed",
# "nothing of the sort") press it. Attribution ("according to") is sourcing and is not counted here.

# %%
fig, data = plots.rates_plot(estimates, unit_type="outlet", lexicon="hedges", voice="own", units=[outlet])
writer.save(fig, data, "hedges", title=f"Hedges in the own voice of {outlet}",
             caption=f"Hedges per 1,000 words of {outlet}'s own voice, by category after Hyland (2005). "
                     + caption_for_intervals(data))

# %%
fig, data = plots.rates_plot(estimates, unit_type="outlet", lexicon="boosters", voice="own", units=[outlet])
writer.save(fig, data, "boosters", title=f"Boosters in the own voice of {outlet}",
             caption=f"Boosters per 1,000 words of {outlet}'s own voice. " + caption_for_intervals(data))

# %% [markdown]
# ## Tone along the article
#
# VADER compound of each sentence in reading order, coloured by the sentence's majority voice;
# headline and other non-body sections are shaded.

# %%
fig, data = plots.sentiment_along_article(results["sentence_scores"], doc_id=doc_ids[0])
writer.save(fig, data, "sentiment-along", title=f"Sentence sentiment along the article ({outlet})",
             caption=f"VADER compound of each sentence of document {doc_ids[0]} ({outlet}) in reading order, "
                     "coloured by the sentence's majority voice.")

# %% [markdown]
# ## Actors: tone and labels
#
# Mean compound of the sentences that name each actor (by any of its names or labels), and which
# names and labels the outlet uses, by voice. A generic label such as "regime" counts for an actor
# only where it refers to it (`analysis/data/actors.csv`, columns `requires` and `excludes`).

# %%
fig, data = plots.actor_sentiment_plot(estimates, unit_type="outlet", voice="all", units=[outlet])
writer.save(fig, data, "actor-sentiment", title=f"Sentiment of sentences naming each actor ({outlet})",
             caption=f"Mean VADER compound of {outlet}'s sentences that name each actor. "
                     + caption_for_intervals(data))

# %%
labels = results["actor_labels"]
labels[labels["outlet"] == outlet].pivot_table(index=["actor", "kind", "alias"], columns="voice", values="count",
                                                aggfunc="sum", fill_value=0)

# %% [markdown]
# ## Sources and attribution verbs
#
# Whom the outlet quotes, how often it relies on anonymous sources, and whether it reports words as
# "said" (neutral) or "claimed", "admitted", "insisted" (loaded).

# %%
sourcing = results["sourcing"]
sourcing[sourcing["doc_id"].isin(doc_ids)].pivot_table(index="measure", columns="doc_id", values="value")

# %%
attribution = results["attribution"]
attribution[attribution["doc_id"].isin(doc_ids)].groupby(["category", "term", "speaker"]).size().rename("count")

# %% [markdown]
# ## Keyword in context
#
# Every loaded term of the outlet with its sentence, voice and section: the audit trail behind the
# rates above.

# %%
matches = results["matches"]
loaded = matches[matches["doc_id"].isin(doc_ids) & (matches["lexicon"] == "loaded")]
measures.keyword_in_context(loaded, corpus.sentences)[["doc_id", "category", "voice", "left", "keyword", "right"]]
