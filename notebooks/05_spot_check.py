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
# # Spot check: how often is a match what its category says?
#
# Reviewers of dictionary-based studies ask for this routine. It draws a stratified random sample of
# matches (per lexicon, category and outlet; fixed seed) with their context into a coding sheet, plus
# sentences with no match, for a rough recall estimate. A person codes each row yes or no; the coded
# sheet gives each category's precision with a Wilson interval.
#
# The coded sheet shipped for the seeds is a **pilot coded by the lexicon's builders** (one coder, not
# blind, no inter-coder agreement): its precision figures are indicative and likely optimistic. See
# `seeds/spotcheck/README.md`.

# %% tags=["parameters"]
corpus_path = "../seeds"
text_col = None
outlet_col = None
id_col = None
grouping = None
coded_sheet = "../seeds/spotcheck/coded_pilot_seeds.csv"
per_stratum = 10
seed = 0
run_id = "spotcheck"
out_dir = "../build/figures"

# %%
from pathlib import Path

from analysis import plots, spotcheck
from analysis.notebook import start

results, writer = start("05_spot_check.ipynb", globals())
corpus = results.corpus

# %% [markdown]
# ## 1. Draw a coding sheet
#
# Fill the `code` column with yes or no: for a match, is it an instance of its category as the lexicon
# README defines it? For a `no_match` sentence, does it hold an instance the lexicon missed?

# %%
sheet = spotcheck.coding_sheet(results["matches"], corpus.sentences, corpus.documents, per_stratum=per_stratum,
                               seed=seed)
sheet_path = spotcheck.write_coding_sheet(sheet, Path(out_dir) / f"{run_id}-coding-sheet.csv")
sheet.groupby(["row_type", "lexicon"]).size().rename("rows")

# %% [markdown]
# ## 2. Score a coded sheet
#
# Precision per category with a 95 % Wilson interval, and per lexicon a rough recall estimate from
# the sentences with no match.

# %%
scores = spotcheck.score_sheet(spotcheck.read_coding_sheet(coded_sheet))
scores

# %%
fig, data = plots.precision_plot(scores)
writer.save(fig, data, "precision", title="Lexicon precision in a coded sample of matches",
            caption="Share of sampled matches a coder judged to be instances of their category, per lexicon "
                    "category, with 95% Wilson score intervals (n beside each). Pilot coding by the lexicon's "
                    "builders: one coder, not blind; indicative only.")
