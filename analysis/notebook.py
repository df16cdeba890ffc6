"""What the notebooks call besides the measures: parameter checks with the valid values listed.

A bad parameter stops a notebook at its parameters cell, with a message a user can act on.
"""

from __future__ import annotations

from pathlib import Path

from analysis.pipeline import Results


class ParameterError(ValueError):
    """A notebook parameter that does not fit the corpus; the message lists the valid values."""


def _check(name: str, value, valid) -> None:
    valid = sorted(valid)
    if value not in valid:
        raise ParameterError(f"{name}={value!r} is not in this corpus; valid values: {valid}")


def check_parameters(results: Results, *, outlet=None, group_a=None, group_b=None, categories=None,
                     min_count=None) -> None:
    """Check notebook parameters against the measured corpus; raise ParameterError listing valid values.

    outlet: an outlet of the corpus; group_a / group_b: non-empty groups of the grouping used (group_b
    may be "rest"); categories: "lexicon:category" or category names found in the lexicons.
    """
    documents = results.corpus.documents
    if outlet is not None:
        _check("outlet", outlet, documents["outlet"].unique())
    groups = documents["group"].dropna().unique()
    if group_a is not None:
        _check("group_a", group_a, groups)
    if group_b is not None and group_b != "rest":
        _check("group_b", group_b, list(groups) + ["rest"])
    if group_a is not None and group_a == group_b:
        raise ParameterError(f"group_a and group_b are both {group_a!r}; choose two different groups")
    if categories:
        estimates = results["estimates"]
        rates = estimates[estimates["measure"] == "rate_per_1k"]
        known = set(rates["category"]) | set(rates["lexicon"] + ":" + rates["category"])
        for category in categories:
            _check("categories", category, known)
    if min_count is not None and (int(min_count) != min_count or min_count < 0):
        raise ParameterError(f"min_count={min_count!r} must be a non-negative whole number")


class FigureWriter:
    """Saves a notebook's figures under `<run_id>-<name>` with the run's provenance (one call a figure).

    out_dir is where the files go, not what they show, so it is left out of the recorded parameters.
    """

    def __init__(self, results: Results, *, run_id: str, notebook: str, parameters: dict, out_dir):
        self.results, self.run_id, self.notebook, self.out_dir = results, run_id, notebook, out_dir
        self.parameters = {k: v for k, v in parameters.items() if k not in {"out_dir", "run_id"}}

    def save(self, fig, data, name: str, *, title: str, caption: str):
        """Write the figure (PNG, SVG), its data (CSV) and its catalog entry, and return the saved PNG
        for display, so the notebook shows exactly the file a paper would cite."""
        from IPython.display import Image

        from analysis import figures

        figure_id = figures.figure_id(self.run_id, name)
        record = figures.save_figure(fig, data, figure_id=figure_id, title=title, caption=caption,
                                     out_dir=self.out_dir, run_id=self.run_id, notebook=self.notebook,
                                     parameters=self.parameters, provenance=self.results.provenance)
        return Image(filename=str(Path(self.out_dir) / record["png"]), width=720)


def contrast_units(results: Results, group_a: str, group_b: str) -> list[str]:
    """The groups a contrast chart shows: the pair, or group_a and every other group when group_b is "rest"
    (the estimates hold groups, not "the rest")."""
    if group_b != "rest":
        return [group_a, group_b]
    others = sorted(set(results.corpus.documents["group"].dropna()) - {group_a})
    return [group_a, *others]


PARAMETER_NAMES = ("corpus_path", "text_col", "outlet_col", "id_col", "grouping", "group_a", "group_b", "outlet",
                   "categories", "min_count", "alpha_0", "seed", "run_id", "out_dir", "coded_sheet", "per_stratum")
_LOAD_OPTIONS = ("text_col", "outlet_col", "id_col", "grouping")
_MEASURE_OPTIONS = ("grouping", "group_a", "group_b", "alpha_0", "seed")
_CHECKED = ("outlet", "group_a", "group_b", "categories", "min_count")


def start(notebook: str, namespace: dict) -> tuple[Results, FigureWriter]:
    """Load and measure the corpus a notebook's parameters cell names, check the parameters, and return
    the results with a FigureWriter that records those parameters.

    `namespace` is the notebook's globals(); the names read are PARAMETER_NAMES (the contract's, plus
    the spot check's coded_sheet and per_stratum).
    """
    from analysis.pipeline import load_corpus, measure

    params = {name: namespace[name] for name in PARAMETER_NAMES if name in namespace}
    corpus = load_corpus(params["corpus_path"], **{k: params[k] for k in _LOAD_OPTIONS if k in params})
    results = measure(corpus, **{k: params[k] for k in _MEASURE_OPTIONS if k in params})
    check_parameters(results, **{k: params[k] for k in _CHECKED if k in params})
    writer = FigureWriter(results, run_id=params["run_id"], notebook=notebook, parameters=params,
                          out_dir=params["out_dir"])
    return results, writer
