"""Every notebook runs top to bottom under papermill, makes the figures it promises, twice alike."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import jupytext
import nbformat
import pandas as pd
import pytest

from analysis import runs

PROJECT = Path(__file__).resolve().parent.parent
NOTEBOOKS = PROJECT / "notebooks"
RUNS = runs.load_runs(NOTEBOOKS / "runs.yaml")

PROMISED = {
    "01_corpus_overview.ipynb": ["cleaning", "voice-share", "sentiment"],
    "02_outlet_profile.ipynb": ["loaded-own", "loaded-by-voice", "hedges", "boosters", "sentiment-along",
                                "actor-sentiment"],
    "03_group_contrast.ipynb": ["loaded-rates", "hedge-rates", "loaded-differences", "sentiment", "actor-sentiment",
                                "distinctive-terms"],
    "05_spot_check.ipynb": ["precision"],
    "04_explorer.ipynb": [],
}
OTHER_PARAMETERS = {
    "01_corpus_overview.ipynb": {"grouping": "../seeds/groupings/socialist_vs_mainstream.csv", "seed": 3},
    "02_outlet_profile.ipynb": {"outlet": "Global News", "categories": ["actor_label", "conflict_threat"]},
    "03_group_contrast.ipynb": {"group_a": "mainstream", "group_b": "rest", "min_count": 1, "alpha_0": 100.0},
    "05_spot_check.ipynb": {"per_stratum": 3, "seed": 7},
    "04_explorer.ipynb": {"grouping": "../seeds/groupings/socialist_vs_mainstream.csv"},
}


@pytest.fixture(scope="module", autouse=True)
def kernel():
    if not runs.kernel_installed():
        runs.install_kernel()


def run(notebook: str, out_dir: Path, build: Path, run_id: str, parameters: dict):
    return runs.execute(runs.Run(run_id, notebook, parameters), notebooks_dir=NOTEBOOKS, build_dir=build,
                        extra={"out_dir": str(out_dir)}, progress=False)


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_committed_notebooks_are_clean_paired_and_parameterised(path):
    notebook = nbformat.read(path, as_version=4)
    assert notebook.metadata["kernelspec"]["name"] == runs.KERNEL_NAME
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)
    assert "parameters" in code[0].metadata.get("tags", [])
    paired = jupytext.read(path.with_suffix(".py"))
    assert [c.source for c in paired.cells] == [c.source for c in notebook.cells], "run jupytext --sync"


def test_every_notebook_is_in_the_promises():
    assert sorted(PROMISED) == sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


@pytest.fixture(scope="module")
def default_runs(tmp_path_factory):
    """Every run of runs.yaml, twice, into two folders."""
    folders = [tmp_path_factory.mktemp(name) for name in ("first", "second")]
    build = tmp_path_factory.mktemp("build")
    for folder in folders:
        for entry in RUNS:
            failure = run(entry.notebook, folder, build, entry.run_id, entry.parameters)
            assert failure is None, str(failure)
    return folders


def test_each_run_makes_its_promised_figures_with_catalog_entries(default_runs):
    out = default_runs[0]
    catalog = pd.read_csv(out / "catalog.csv", dtype=str, keep_default_na=False)
    readme = (out / "README.md").read_text()
    for entry in RUNS:
        for name in PROMISED[entry.notebook]:
            figure_id = f"{entry.run_id}-{name}"
            for suffix in (".png", ".svg", ".csv"):
                assert (out / f"{figure_id}{suffix}").is_file(), figure_id + suffix
            row = catalog[catalog.figure_id == figure_id]
            assert len(row) == 1, figure_id
            assert row.notebook.iloc[0] == entry.notebook and row.caption.iloc[0]
            assert json.loads(row.parameters.iloc[0]).get("corpus_path") == "../seeds"
            assert figure_id in readme


def test_a_second_run_is_byte_identical(default_runs):
    first, second = default_runs
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    _, mismatch, errors = filecmp.cmpfiles(first, second, names, shallow=False)
    assert not mismatch and not errors


@pytest.mark.parametrize("notebook", sorted(OTHER_PARAMETERS))
def test_each_notebook_runs_with_other_parameters(notebook, tmp_path):
    parameters = {"corpus_path": "../seeds", **OTHER_PARAMETERS[notebook]}
    failure = run(notebook, tmp_path, tmp_path / "build", "other", parameters)
    assert failure is None, str(failure)
    for name in PROMISED[notebook]:
        assert (tmp_path / f"other-{name}.png").is_file()


def test_an_unknown_group_stops_the_contrast_with_the_valid_groups(tmp_path):
    failure = run("03_group_contrast.ipynb", tmp_path, tmp_path / "build", "bad", {"group_a": "wire_service"})
    assert failure is not None and failure.cell is not None
    assert "group_a='wire_service' is not a group" in failure.error
    assert "socialist_press" in failure.error and "mainstream" in failure.error


def test_an_unknown_outlet_stops_the_profile_with_the_valid_outlets(tmp_path):
    failure = run("02_outlet_profile.ipynb", tmp_path, tmp_path / "build", "bad", {"outlet": "Reuters"})
    assert failure is not None
    assert "outlet='Reuters' is not in this corpus" in failure.error and "Global News" in failure.error


def test_the_committed_figures_are_what_the_runs_make_today(default_runs):
    committed = PROJECT / "figures"
    fresh = sorted(p.name for p in default_runs[0].iterdir())
    assert fresh == sorted(p.name for p in committed.iterdir() if p.name != ".gitkeep")
    tables = [n for n in fresh if n.endswith(".csv")]
    _, mismatch, errors = filecmp.cmpfiles(committed, default_runs[0], tables, shallow=False)
    assert not mismatch and not errors, f"stale figure tables or catalog (run `make figures`): {mismatch + errors}"


@pytest.fixture(scope="module")
def article_table(tmp_path_factory):
    """The seeds as a user's article table, with other column names than the contract's."""
    from analysis.synthetic import folder_as_table

    table = folder_as_table(PROJECT / "seeds").rename(columns={"id": "story_id", "outlet": "source",
                                                                "body": "content"})
    path = tmp_path_factory.mktemp("table") / "articles.csv"
    table[["story_id", "source", "content"]].to_csv(path, index=False)
    return path


@pytest.mark.parametrize("notebook", sorted(PROMISED))
def test_each_notebook_runs_on_an_article_table_with_other_column_names(notebook, article_table, tmp_path):
    parameters = {"corpus_path": str(article_table), "text_col": "content", "outlet_col": "source",
                  "id_col": "story_id"}
    if notebook == "03_group_contrast.ipynb":
        parameters["grouping"] = "../seeds/groupings/socialist_vs_mainstream.csv"
    failure = run(notebook, tmp_path, tmp_path / "build", "table", parameters)
    assert failure is None, str(failure)
    for name in PROMISED[notebook]:
        assert (tmp_path / f"table-{name}.png").is_file()
    if PROMISED[notebook]:
        catalog = pd.read_csv(tmp_path / "catalog.csv", dtype=str, keep_default_na=False)
        assert set(json.loads(catalog.parameters.iloc[0])["corpus_path"].split("/")) >= {"...", "articles.csv"}


def test_a_failed_run_is_reported_and_the_others_still_run(tmp_path):
    bad = runs.Run("bad", "02_outlet_profile.ipynb", {"outlet": "Reuters"})
    good = runs.Run("good", "05_spot_check.ipynb", {})
    failures = runs.run_all([bad, good], notebooks_dir=NOTEBOOKS, build_dir=tmp_path / "build", out_dir=tmp_path,
                            progress=False)
    assert [f.run_id for f in failures] == ["bad"]
    assert "02_outlet_profile.ipynb" in str(failures[0]) and "cell" in str(failures[0])
    assert (tmp_path / "good-precision.png").is_file()
