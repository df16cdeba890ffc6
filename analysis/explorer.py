"""Interactive explorer for JupyterLab: pick outlets or groups and a lexicon category, see the rates
and the sentences behind them update (ipywidgets)."""

from __future__ import annotations

import io

import pandas as pd

from analysis import measures, plots
from analysis.compare import drop_copy_bodies
from analysis.pipeline import Results

VOICES = ("own", "quoted", "reported", "all")


def unit_options(results: Results, unit_type: str) -> list[str]:
    """The outlets or groups that have rates, sorted (an outlet whose only document is a syndicated
    copy has none under drop_copies)."""
    rates = results["estimates"]
    chosen = rates[(rates["unit_type"] == unit_type) & (rates["measure"] == "rate_per_1k")]
    return sorted(chosen["unit"].unique())


def category_options(results: Results, lexicon: str) -> list[str]:
    """The categories a lexicon has in the estimates, "all" first."""
    rates = results["estimates"]
    found = rates.loc[(rates["measure"] == "rate_per_1k") & (rates["lexicon"] == lexicon), "category"].unique()
    return ["all"] + sorted(c for c in found if c != "all")


def matching_sentences(results: Results, *, unit_type: str, units, lexicon: str, category: str, voice: str,
                       limit: int = 200) -> pd.DataFrame:
    """The matches behind a chart, in context: the selected units' documents, lexicon, category, voice.
    As in the estimates, a syndicated copy's body is left out (its own lines stay)."""
    documents = results.corpus.documents
    column = {"outlet": "outlet", "group": "group"}[unit_type]
    doc_ids = documents.loc[documents[column].isin(list(units)), "doc_id"]
    matches = drop_copy_bodies(results["matches"], documents.assign(exclude_body=documents["duplicate_of"] != ""))
    chosen = matches[matches["doc_id"].isin(doc_ids) & (matches["lexicon"] == lexicon)]
    if category != "all":
        chosen = chosen[chosen["category"] == category]
    if voice != "all":
        chosen = chosen[chosen["voice"] == voice]
    context = measures.keyword_in_context(chosen.head(limit), results.corpus.sentences)
    context["outlet"] = context["doc_id"].map(documents.set_index("doc_id")["outlet"])
    return context[["outlet", "doc_id", "category", "voice", "left", "keyword", "right"]].reset_index(drop=True)


def figure_image(fig, *, dpi: int = 110):
    """A figure as a PNG image for display (the plots draw on plain Figures, outside pyplot)."""
    from IPython.display import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return Image(data=buffer.getvalue())


def explorer(results: Results):
    """The widget: unit type, units, lexicon, category and voice selectors above a chart and a table."""
    import ipywidgets as widgets
    lexicons = sorted(results["estimates"].query("measure == 'rate_per_1k'")["lexicon"].unique())
    unit_type = widgets.ToggleButtons(options=["outlet", "group"], description="Compare")
    units = widgets.SelectMultiple(options=unit_options(results, "outlet"), rows=6, description="Units")
    units.value = tuple(units.options)
    lexicon = widgets.Dropdown(options=lexicons, value="loaded" if "loaded" in lexicons else lexicons[0],
                               description="Lexicon")
    category = widgets.Dropdown(options=category_options(results, lexicon.value), description="Category")
    voice = widgets.Dropdown(options=VOICES, value="own", description="Voice")
    chart, table = widgets.Output(), widgets.Output()

    def refresh(*_):
        # outputs are set directly (not `with chart:`), so the widget also updates outside a kernel
        chosen = list(units.value)
        chart.outputs, table.outputs = (), ()
        if not chosen:
            chart.append_stdout("Select at least one outlet or group.\n")
            return
        fig, _ = plots.rates_plot(results["estimates"], unit_type=unit_type.value, lexicon=lexicon.value,
                                  categories=[category.value], voice=voice.value, units=chosen)
        chart.append_display_data(figure_image(fig))
        table.append_display_data(matching_sentences(results, unit_type=unit_type.value, units=chosen,
                                                     lexicon=lexicon.value, category=category.value,
                                                     voice=voice.value))

    def on_unit_type(change):
        units.options = unit_options(results, change["new"])
        units.value = tuple(units.options)

    def on_lexicon(change):
        category.options = category_options(results, change["new"])
        category.value = "all"

    unit_type.observe(on_unit_type, names="value")
    lexicon.observe(on_lexicon, names="value")
    for control in (unit_type, units, lexicon, category, voice):
        control.observe(refresh, names="value")
    refresh()
    controls = widgets.HBox([widgets.VBox([unit_type, units]), widgets.VBox([lexicon, category, voice])])
    return widgets.VBox([controls, chart, table])
