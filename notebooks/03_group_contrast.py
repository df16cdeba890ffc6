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
# # Group contrast
#
# What distinguishes one group of outlets from another: loaded-term and hedge/boost rates side by
# side with intervals, their differences with permutation p-values, sentence sentiment overall and by
# actor, and the words that set one group apart (log-odds with an informative Dirichlet prior).
#
# The default contrasts the socialist press (World Socialist Web Site) with the mainstream outlets
# (the New York Times, The Province printing the Washington Post, Global News). The seeds hold no
# wire-service copy; with a corpus that has AP, Reuters or AFP stories, set `group_b = "wire_service"`.
#
# With one document against three, no permutation p-value can fall below 0.25: the smallest
# attainable p is printed beside every p-value, so the chart says when the data cannot tell.

# %% tags=["parameters"]
corpus_path = "../seeds"
text_col = None
outlet_col = None
id_col = None
grouping = "../seeds/groupings/socialist_vs_mainstream.csv"
group_a = "socialist_press"
group_b = "mainstream"
categories = None
min_count = 2
alpha_0 = None
seed = 0
run_id = "contrast-socialist-mainstream"
out_dir = "../build/figures"

# %%
from analysis import plots
from analysis.figures import caption_for_intervals
from analysis.notebook import contrast_units, start

results, writer = start("03_group_contrast.ipynb", globals())
corpus = results.corpus
estimates, differences = results["estimates"], results["differences"]
pair = contrast_units(results, group_a, group_b)

# %% [markdown]
# ## Loaded terms, side by side
#
# Rate per 1,000 words of each group's own voice, by category. Quoted words are excluded: this is
# what the outlets say in their own words.

# %%
fig, data = plots.rates_plot(estimates, unit_type="group", lexicon="loaded", categories=categories, voice="own",
                             units=pair)
writer.save(fig, data, "loaded-rates", title=f"Loaded terms in own voice: {group_a} and {group_b}",
            caption=f"Loaded terms per 1,000 words of own voice, by category, for {group_a} and {group_b}. "
                    + caption_for_intervals(data))

# %%
fig, data = plots.rates_plot(estimates, unit_type="group", lexicon="hedges", voice="own", units=pair)
writer.save(fig, data, "hedge-rates", title=f"Hedges in own voice: {group_a} and {group_b}",
            caption=f"Hedges per 1,000 words of own voice, by category, for {group_a} and {group_b}. "
                    + caption_for_intervals(data))

# %% [markdown]
# ## Differences
#
# Group a minus group b, with a bootstrap interval (each group's documents resampled on their own)
# and a permutation p-value over documents, exact when the groups are small.

# %%
fig, data = plots.differences_plot(differences, group_a=group_a, group_b=group_b, lexicon="loaded", voice="own")
writer.save(fig, data, "loaded-differences", title=f"Difference in loaded-term rates: {group_a} minus {group_b}",
            caption=f"Difference in loaded terms per 1,000 words of own voice ({group_a} minus {group_b}) by "
                    "category, with a percentile bootstrap interval (documents resampled within each group; "
                    "sentences where a group has one document) and an exact permutation p-value over documents "
                    "beside the smallest p-value the design allows.")

# %% [markdown]
# ## Sentence sentiment
#
# Every sentence's VADER compound by group, and the mean compound of sentences that name each actor.

# %%
fig, data = plots.sentiment_plot(results["sentence_scores"], corpus.documents, by="group", units=pair)
writer.save(fig, data, "sentiment", title=f"Sentence sentiment: {group_a} and {group_b}",
            caption=f"VADER compound of each sentence (all voices) in {group_a} and {group_b}; boxes show "
                    "quartiles, the band VADER's neutral zone (-0.05 to 0.05).")

# %%
fig, data = plots.actor_sentiment_plot(estimates, unit_type="group", voice="all", units=pair)
writer.save(fig, data, "actor-sentiment", title=f"Sentiment of sentences naming each actor: {group_a} and {group_b}",
            caption="Mean VADER compound of the sentences that name each actor, per group. "
                    + caption_for_intervals(data))

# %% [markdown]
# ## Distinctive terms
#
# Monroe, Colaresi & Quinn's (2008) "Fightin' Words": the log-odds ratio of each word between the two
# groups, shrunk towards the whole corpus's word frequencies (prior strength `alpha_0`, by default the
# corpus word total), as a z-score against the word's frequency. Words beyond ±1.96 differ more than
# the prior expects; with few documents, read them as leads, not findings (see the q-values).

# %%
terms = results["distinctive_terms"]
terms = terms[(terms["count_a"] + terms["count_b"]) >= min_count]
fig, data = plots.distinctive_terms_plot(terms, group_a=group_a, group_b=group_b)
writer.save(fig, data, "distinctive-terms", title=f"Distinctive terms: {group_a} against {group_b}",
            caption=f"Log-odds ratio with informative Dirichlet prior (Monroe et al. 2008) of each own-voice word "
                    f"between {group_a} and {group_b}, as a z-score against total frequency; words seen at least "
                    f"{min_count} times; prior: the whole corpus, alpha_0 = {terms['alpha_0'].iloc[0]:g}.")

# %%
terms.sort_values("z", ascending=False).head(20)[["term", "count_a", "count_b", "log_odds", "z", "q_value"]]
