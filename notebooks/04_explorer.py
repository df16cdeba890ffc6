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
# # Explorer
#
# Pick outlets or groups, a lexicon and a category, and a voice: the chart shows each unit's rate per
# 1,000 words of that voice with its interval, and the table below lists the matching words in their
# sentences, so every number can be checked by reading. Run all cells in JupyterLab; the widgets need
# a live kernel (under papermill the first view is drawn once).

# %% tags=["parameters"]
corpus_path = "../seeds"
text_col = None
outlet_col = None
id_col = None
grouping = None
seed = 0
run_id = "explorer"
out_dir = "../build/figures"

# %%
from analysis.explorer import explorer
from analysis.notebook import start

results, _ = start("04_explorer.ipynb", globals())

# %%
explorer(results)
