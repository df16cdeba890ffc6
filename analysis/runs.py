"""Notebook runs: `notebooks/runs.yaml` executed through papermill with the project's kernel.

Each run names a notebook and its parameters; the figures command runs them all, reports a failed
run with its notebook and cell, and goes on with the others.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

KERNEL_NAME = "framing-lens"
RUN_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Run:
    run_id: str
    notebook: str
    parameters: dict


@dataclass(frozen=True)
class Failure:
    run_id: str
    notebook: str
    cell: int | None
    error: str

    def __str__(self) -> str:
        where = f"cell {self.cell}" if self.cell is not None else "before any cell"
        return f"run {self.run_id!r} ({self.notebook}, {where}): {self.error}"


def load_runs(path: Path) -> list[Run]:
    """Read and check the run list: unique lower-case-hyphen run ids, existing notebooks."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    runs, seen = [], set()
    for i, entry in enumerate(entries, start=1):
        missing = [k for k in ("run_id", "notebook") if k not in entry]
        if missing:
            raise ValueError(f"{path}: run {i} lacks {missing}; each run needs run_id, notebook, parameters")
        run_id = str(entry["run_id"])
        if not RUN_ID.match(run_id):
            raise ValueError(f"{path}: run_id {run_id!r} must be lower-case words joined by hyphens")
        if run_id in seen:
            raise ValueError(f"{path}: run_id {run_id!r} appears twice")
        seen.add(run_id)
        notebook = path.parent / entry["notebook"]
        if not notebook.is_file():
            raise ValueError(f"{path}: run {run_id!r} names {entry['notebook']!r}, which does not exist")
        runs.append(Run(run_id, entry["notebook"], dict(entry.get("parameters") or {})))
    return runs


def kernel_installed() -> bool:
    """Whether Jupyter can find the project's named kernel."""
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL_NAME in KernelSpecManager().find_kernel_specs()


def install_kernel() -> None:
    """Install the `framing-lens` kernel into this environment (sys.prefix), pointing at this Python."""
    subprocess.run([sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL_NAME,
                    "--display-name", f"Python ({KERNEL_NAME})"], check=True, capture_output=True)


def execute(run: Run, *, notebooks_dir: Path, build_dir: Path, extra: dict, progress: bool) -> Failure | None:
    """Execute one run with papermill; the executed copy goes to build_dir. Returns a Failure or None."""
    import papermill as pm

    build_dir.mkdir(parents=True, exist_ok=True)
    output = build_dir / f"{run.run_id}.ipynb"
    try:
        pm.execute_notebook(str(notebooks_dir / run.notebook), str(output), parameters={**run.parameters, **extra,
                            "run_id": run.run_id}, kernel_name=KERNEL_NAME, cwd=str(notebooks_dir),
                            progress_bar=progress, log_output=False)
    except pm.PapermillExecutionError as exc:
        return Failure(run.run_id, run.notebook, exc.exec_count, f"{exc.ename}: {exc.evalue}")
    except Exception as exc:  # noqa: BLE001 - any failure of one run is reported, the others still run
        return Failure(run.run_id, run.notebook, None, f"{type(exc).__name__}: {exc}")
    return None


def run_all(runs: list[Run], *, notebooks_dir: Path, build_dir: Path, out_dir: Path,
            progress: bool | None = None) -> list[Failure]:
    """Run every notebook run, writing figures to out_dir; failures are collected, not raised."""
    from tqdm.auto import tqdm

    if progress is None:
        progress = sys.stderr.isatty() and not os.environ.get("CI")
    if not kernel_installed():
        install_kernel()
    failures = []
    for run in tqdm(runs, desc="notebook runs", unit="run", disable=not progress):
        failure = execute(run, notebooks_dir=notebooks_dir, build_dir=build_dir,
                          extra={"out_dir": str(out_dir)}, progress=progress)
        if failure:
            failures.append(failure)
            print(f"FAILED {failure}", file=sys.stderr)
    return failures


FIGURE_SUFFIXES = (".png", ".svg", ".csv")


CATALOG_FILES = {"catalog.csv", "README.md", "figures.bib"}


def clear_figures(out_dir: Path) -> None:
    """Remove the figure files and catalog (csv, README, bib) of a full regeneration, so a figure no run
    makes is gone. Only files directly in out_dir: the write-ups and their rendered files live in
    writeups/, and any sub-folder of out_dir is left alone."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in out_dir.iterdir():
        if path.is_file() and (path.suffix in FIGURE_SUFFIXES or path.name in CATALOG_FILES):
            path.unlink()
