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
# # Corpus overview
#
# What the corpus holds before any framing measure: which outlets and groups, when, how long, what
# cleaning removed, which documents copy others, and how much of each outlet is its own voice rather
# than quoted or reported speech. Framing studies start with the headlines side by side.
#
# Change the parameters below to point at your own corpus: a folder of `.txt` files with
# `manifest.csv`, or a CSV / JSONL / Parquet table with `text_col` and `outlet_col`.

# %% tags=["parameters"]
corpus_path = "../seeds"
text_col = None
outlet_col = None
id_col = None
grouping = None
seed = 0
run_id = "overview"
out_dir = "../build/figures"

# %%
from analysis import plots
from analysis.notebook import start

results, writer = start("01_corpus_overview.ipynb", globals())
corpus = results.corpus

# %% [markdown]
# ## Documents
#
# One row per document: outlet, group, dates (`published` is the story's date, `page_date` the date
# printed on the captured page; `date_basis` says where each comes from), length in words, and
# `duplicate_of` where a document copies another.

# %%
corpus.tables()["documents"][["doc_id", "outlet", "outlet_group", "published", "page_date", "n_words",
                              "n_sentences", "duplicate_of", "duplicate_similarity"]]

# %% [markdown]
# ## Headlines side by side
#
# The headline is each outlet's first framing choice. A repost's own headline is kept as its own
# section, so a blog that reposts a newspaper story is read by what it wrote itself.

# %%
plots.headlines_table(corpus.documents)

# %% [markdown]
# ## What cleaning removed
#
# Each cell counts the lines a rule touched in one document: page furniture removed, bylines and
# dates moved to metadata, captions and headlines made sections, split paragraphs joined. Every line
# is listed in `corpus.cleaning_report`; nothing leaves the text silently.

# %%
fig, data = plots.cleaning_plot(corpus.cleaning_report, corpus.documents)
writer.save(fig, data, "cleaning", title="Lines touched by cleaning, per document and rule",
             caption="Number of raw lines each boilerplate rule removed, moved to metadata, made a section "
                     "or joined, per document. Rules are data (analysis/data/boilerplate_rules.csv); the full "
                     "list of lines is the cleaning report.")

# %%
corpus.exclusions

# %% [markdown]
# ## Syndication
#
# Near-duplicates are found with MinHash on word 5-grams; `duplicate_similarity` is the share of the
# copy's 5-grams found in the original. Under the default policy the copy's body counts once, under
# its original outlet; its own lines (headline, added lines) stay in.

# %%
corpus.documents.loc[corpus.documents["duplicate_of"] != "", ["doc_id", "outlet", "duplicate_of",
                                                               "duplicate_similarity"]]

# %% [markdown]
# ## Own voice, quoted and reported
#
# How much of each outlet's text is its own words, words inside quotation marks attributed to a
# speaker, or indirect speech ("X claimed that ..."). An outlet that quotes more lends its page to
# its sources; every later measure keeps the three apart.

# %%
fig, data = plots.voice_share_plot(corpus.sentences, corpus.documents)
writer.save(fig, data, "voice-share", title="Share of words in own voice, quotation and reported speech",
             caption="Share of each outlet's words in its own voice, inside attributed quotations, and in "
                     "reported (indirect) speech, from the voice spans of the text model; a syndicated copy's "
                     "body is left out (counted under its original outlet).")

# %% [markdown]
# ## Sentence sentiment by outlet
#
# VADER compound score of every sentence (−1 to +1); the shaded band is VADER's neutral zone
# (−0.05 to 0.05). Read it as tone of the text, not as the outlet's stance: VADER scores topic words
# such as "crisis" as negative (see the outlet profile and the mask parameter of `analysis.measure`).

# %%
fig, data = plots.sentiment_plot(results["sentence_scores"], corpus.documents)
writer.save(fig, data, "sentiment", title="Sentence sentiment (VADER compound) by outlet",
             caption="VADER compound score of each sentence (all voices), per outlet; boxes show quartiles, "
                     "the band VADER's neutral zone (-0.05 to 0.05). A syndicated copy's body is left out.")
