"""Figures as files: PNG (300 dpi), SVG and the CSV of the data drawn, plus the catalog.

A figure is identified by `<run_id>-<figure_name>` and by content (corpus hash, lexicon versions,
package version and code hash, parameters), never by a date or a git commit, so regenerating an
unchanged figure rewrites identical bytes. The house style (palette, fonts, sizes) is defined in
`analysis.plots`, where drawing needs it, and re-exported here. See docs/figures.md.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from analysis.plots import DOUBLE_COLUMN, SINGLE_COLUMN, colours, house_style, palette
from analysis.provenance import canonical_json, sha256_bytes

__all__ = ["CATALOG_COLUMNS", "DOUBLE_COLUMN", "SINGLE_COLUMN", "caption_for_intervals", "colours", "figure_id",
           "house_style", "palette", "read_results", "save_figure", "write_bib", "write_readme"]

CATALOG_COLUMNS = ["figure_id", "title", "caption", "run_id", "notebook", "parameters", "corpus_hash", "doc_ids",
                   "lexicon_versions", "package_version", "code_hash", "data_sha256", "png", "svg", "csv",
                   "actors_version", "vader_version", "measure_parameters"]
PROVENANCE_REQUIRED = ("corpus_hash", "doc_ids", "lexicon_versions", "package_version", "code_hash")
DPI = 300
STAMP_POINTS = 8.0  # height of the strip kept free under the plot for the figure id
_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_MACHINE_PATH = re.compile(r"^(?:/|~|[A-Za-z]:[\\/]|\\\\)")
ID_COLUMNS = ("doc_id", "unit", "duplicate_of", "original_outlet")


def figure_id(run_id: str, name: str) -> str:
    """`<run_id>-<name>`, lower-cased, spaces and underscores as hyphens; anything else but
    a-z, 0-9 and single inner hyphens raises ValueError."""
    fid = f"{run_id}-{name}".lower().replace("_", "-").replace(" ", "-")
    if not str(run_id) or not str(name) or not _ID.fullmatch(fid):
        raise ValueError(f"figure id {fid!r} (run_id={run_id!r}, name={name!r}) may hold only a-z, 0-9 and "
                         "single hyphens between them")
    return fid


# --------------------------------------------------------------------------- captions


def _plural_units(ci_unit: str) -> str:
    return re.sub(r"\b(sentence|document)\b", r"\1s", ci_unit)


def _p_methods(methods: list[str]) -> str:
    """'exact permutation, 4 labelings of documents' x many -> 'exact permutation, 4-10 labelings of documents'."""
    by_template: dict[str, list[int]] = {}
    for method in methods:
        numbers = [int(n) for n in re.findall(r"\d+", method)]
        by_template.setdefault(re.sub(r"\d+", "{}", method), []).extend(numbers[:1])
    parts = []
    for template, numbers in sorted(by_template.items()):
        if not numbers:
            parts.append(template)
            continue
        lo, hi = min(numbers), max(numbers)
        parts.append(template.replace("{}", str(lo) if lo == hi else f"{lo}\u2013{hi}", 1))
    return "; ".join(parts)


def _interval_note(rows: pd.DataFrame) -> str:
    """Why an interval may be narrower than the between-article variation, from n_docs / warnings."""
    if {"n_docs_a", "n_docs_b"} <= set(rows.columns):
        n = pd.concat([pd.to_numeric(rows["n_docs_a"]), pd.to_numeric(rows["n_docs_b"])])
        if n.max() == 1:
            return "one document per group: within-article variation only"
        if n.min() < 5:
            return ("fewer than 5 documents in some groups: a one-document group shows within-article variation "
                    "only")
        return ""
    if "n_docs" not in rows.columns:
        return ""
    n_docs = pd.to_numeric(rows["n_docs"])
    unit = rows["unit_type"].iloc[0] if "unit_type" in rows.columns and rows["unit_type"].nunique() == 1 else "unit"
    if n_docs.max() == 1:
        return f"one document per {unit}: within-article variation only"
    if n_docs.min() < 5:
        return (f"open markers: fewer than 5 documents in the {unit}; with one document the interval shows "
                "within-article variation only, with 2\u20134 little of the variation between articles")
    return ""


def caption_for_intervals(estimates_rows: pd.DataFrame, *, level: float = 0.95) -> str:
    """The sentence a caption needs about the intervals drawn: method, draws, resampling unit and
    what a small number of documents means, from the rows' ci_method / ci_unit / n_docs columns.

    e.g. "Intervals: 95% percentile bootstrap, 2000 draws, resampling sentences (one document per
    outlet: within-article variation only)." `level` is the interval's coverage (the tables do not
    record it; measure() uses 95 %). Works for estimates and differences rows.
    """
    missing = [c for c in ("ci_method", "ci_unit") if c not in estimates_rows.columns]
    if missing:
        raise ValueError(f"rows lack column(s) {missing}; pass estimates or differences rows")
    method = estimates_rows["ci_method"].fillna("").astype(str)
    rows = estimates_rows[~method.isin(["", "none"])]
    if rows.empty:
        return "No intervals (ci_method: none)."
    methods = rows["ci_method"].astype(str).str.split("; p: ", n=1, regex=False)
    intervals = "; ".join(sorted({m[0] for m in methods}))
    tests = sorted({m[1] for m in methods if len(m) > 1})
    units = " or ".join(_plural_units(u) for u in sorted(set(rows["ci_unit"].astype(str))))
    note = _interval_note(rows)
    text = f"Intervals: {level:.0%} {intervals}, resampling {units}" + (f" ({note})" if note else "") + "."
    if tests:
        text += f" p-values: {_p_methods(tests)}, two-sided."
    return text


# --------------------------------------------------------------------------- saving


def _check_inputs(figure_id_: str, run_id: str, parameters: Mapping, provenance: Mapping) -> None:
    if not _ID.fullmatch(str(figure_id_)) or not str(figure_id_).startswith(f"{run_id}-"):
        raise ValueError(f"figure_id {figure_id_!r} must be figure_id(run_id, name) = '{run_id}-<name>' "
                         "(a-z, 0-9, hyphens)")
    missing = [k for k in PROVENANCE_REQUIRED if k not in provenance]
    if missing:
        raise ValueError(f"provenance lacks {missing}; pass the dict of the results' provenance.json")


def _without_machine_paths(value):
    """An absolute path is recorded by its file name only ('.../corpus.csv'): the catalog stays the same
    on every machine, and the corpus itself is identified by its hash."""
    if isinstance(value, str) and _MACHINE_PATH.match(value):
        return ".../" + re.split(r"[\\/]", value.rstrip("/\\"))[-1]
    if isinstance(value, Mapping):
        return {k: _without_machine_paths(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without_machine_paths(v) for v in value]
    return value


def _recorded_parameters(parameters: Mapping) -> dict:
    """The parameters that shape a figure: everything but where it is written (out_dir), without
    machine paths."""
    return {k: _without_machine_paths(v) for k, v in parameters.items() if k != "out_dir"}


def _reset_layout(fig: Figure) -> None:
    """Put every grid axes back at its grid position before a save. Constrained layout starts from the
    current positions, so a second save of the same figure would differ in the last float bits, which
    change the SVG's clip-path ids; from the same start, the same bytes."""
    for ax in fig.axes:
        spec = ax.get_subplotspec()
        if spec is not None:
            ax._set_position(spec.get_position(fig))  # private: the public setter leaves the layout


_SVG_HASH_ID = re.compile(r'id="([a-z])([0-9a-f]{10})"')


def _stable_svg_ids(text: str) -> str:
    """Number matplotlib's hashed SVG ids (clip paths, markers) in order of appearance.

    Those ids hash the float coordinates, and the last bits of a layout can differ between Python
    processes (string-hash order), giving different ids for the same picture; sequential ids make the
    bytes depend on the picture alone.
    """
    renames = {}
    for prefix, digest in _SVG_HASH_ID.findall(text):
        renames.setdefault(prefix + digest, f"{prefix}{len(renames):010d}")
    if not renames:
        return text
    pattern = re.compile("|".join(re.escape(old) for old in renames))
    return pattern.sub(lambda m: renames[m.group(0)], text)


def _freeze_layout(fig: Figure) -> None:
    """Run the layout engine once (as a PNG save at 300 dpi), fix every axes at its position rounded to 1e-6 of
    the figure, and switch the engine off for the saves.

    Constrained layout's solver leaves last-bit differences between Python processes; rounded, fixed
    positions make the PNG and SVG bytes depend on the picture alone. The caller restores the engine.
    """
    fig.savefig(io.BytesIO(), format="png", dpi=DPI)  # the layout exactly as the PNG save would run it
    positions = [(ax, ax.get_position().bounds) for ax in fig.axes]
    fig.set_layout_engine("none")
    for ax, bounds in positions:
        ax._set_position([round(value, 6) for value in bounds])  # private: the public setter leaves the layout


def _draw_files(fig: Figure, png: Path, svg: Path, stamp: str | None) -> None:
    """Write PNG and SVG without dates or versions; with `stamp`, the figure id in small grey type in a
    strip kept free under the plot (constrained layout only), removed afterwards so `fig` is unchanged."""
    engine = fig.get_layout_engine()
    mark = rect = None
    with house_style():
        if stamp and isinstance(engine, ConstrainedLayoutEngine):
            rect = engine.get()["rect"]
            strip = STAMP_POINTS / 72 / fig.get_figheight()
            engine.set(rect=(0, strip, 1, 1 - strip))
            mark = fig.text(0.995, 0.004, stamp, ha="right", va="bottom", fontsize=5.5, color="#777777")
        try:
            _reset_layout(fig)
            _freeze_layout(fig)
            fig.savefig(png, format="png", dpi=DPI, metadata={"Software": None})
            fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
            svg.write_text(_stable_svg_ids(svg.read_text(encoding="utf-8")), encoding="utf-8")
        finally:
            fig.set_layout_engine(engine)
            if mark is not None:
                mark.remove()
                engine.set(rect=rect)


def save_figure(fig: Figure, data: pd.DataFrame, *, figure_id: str, title: str, caption: str, out_dir,
                run_id: str, notebook: str, parameters: Mapping, provenance: Mapping, stamp: bool = True) -> dict:
    """Write `<out_dir>/<figure_id>.png` (300 dpi), `.svg` and `.csv` (the data drawn), upsert the
    figure's row of `catalog.csv` and rewrite `README.md`. Returns the catalog row.

    `provenance` is the results' provenance.json (corpus_hash, doc_ids, lexicon_versions,
    package_version, code_hash, ...); `parameters` are the notebook's (out_dir is not recorded).
    With `stamp`, the image carries its id (not a date) so a pasted copy can be traced.
    """
    _check_inputs(figure_id, run_id, parameters, provenance)
    if not str(title).strip() or not str(caption).strip():
        raise ValueError("a figure needs a title and a caption")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {kind: f"{figure_id}.{kind}" for kind in ("png", "svg", "csv")}
    csv_bytes = data.to_csv(index=False, lineterminator="\n").encode("utf-8")
    (out / files["csv"]).write_bytes(csv_bytes)
    _draw_files(fig, out / files["png"], out / files["svg"], f"framing-lens \u00b7 {figure_id}" if stamp else None)
    row = {
        "figure_id": figure_id, "title": str(title), "caption": str(caption), "run_id": str(run_id),
        "notebook": str(notebook), "parameters": canonical_json(_recorded_parameters(parameters)),
        "corpus_hash": str(provenance["corpus_hash"]), "doc_ids": ";".join(map(str, provenance["doc_ids"])),
        "lexicon_versions": canonical_json(provenance["lexicon_versions"]),
        "package_version": str(provenance["package_version"]), "code_hash": str(provenance["code_hash"]),
        "data_sha256": sha256_bytes(csv_bytes), **files,
        "actors_version": str(provenance.get("actors_version", "")),
        "vader_version": str(provenance.get("vader_version", "")),
        "measure_parameters": canonical_json(provenance.get("parameters", {})),
    }
    catalog_path = out / "catalog.csv"
    catalog = read_catalog(catalog_path)
    catalog = pd.concat([catalog[catalog["figure_id"] != figure_id], pd.DataFrame([row])], ignore_index=True)
    catalog = catalog.sort_values("figure_id", kind="stable")[CATALOG_COLUMNS]
    catalog.to_csv(catalog_path, index=False, lineterminator="\n")
    write_readme(catalog, out / "README.md")
    write_bib(catalog, out / "figures.bib")
    return row


def read_catalog(path) -> pd.DataFrame:
    """The catalog as strings (empty if the file does not exist yet)."""
    path = Path(path)
    if not path.exists():
        return pd.DataFrame(columns=CATALOG_COLUMNS, dtype=object)
    catalog = pd.read_csv(path, dtype=str, keep_default_na=False)
    return catalog.reindex(columns=CATALOG_COLUMNS, fill_value="")


def _md(text: str) -> str:
    return str(text).replace("[", "(").replace("]", ")")


def write_readme(catalog: pd.DataFrame, path) -> None:
    """The human catalog: per figure its id and title, the image, caption, files and provenance."""
    lines = ["# Figures", "",
             ("Written by `analysis.figures.save_figure`; regenerate rather than edit. Each figure has a PNG "
              "(300 dpi), an SVG and a CSV of exactly the data drawn. `catalog.csv` holds the same records for "
              "machines. A figure is identified by its id and by content (corpus hash, lexicon versions, package "
              "version and code hash, parameters), never by a date."), ""]
    for row in catalog.sort_values("figure_id", kind="stable").to_dict("records"):
        fid = row["figure_id"]
        versions = json.loads(row["lexicon_versions"] or "{}")
        extra = [f"actors {row['actors_version']}" if row.get("actors_version") else "",
                 f"vaderSentiment {row['vader_version']}" if row.get("vader_version") else ""]
        lines += [
            f"## {fid}: {row['title']}", "",
            f"![{_md(row['title'])}]({row['png']})", "",
            row["caption"], "",
            (f"- Files: [PNG]({row['png']}) \u00b7 [SVG]({row['svg']}) \u00b7 [data (CSV)]({row['csv']}), "
             f"data sha256 `{row['data_sha256'][:12]}`"),
            f"- Notebook: `{row['notebook']}`; run `{row['run_id']}`; parameters `{row['parameters']}`",
            f"- Corpus hash: `{row['corpus_hash']}` (documents {row['doc_ids'].replace(';', ', ')})",
            "- Lexicon versions: " + (", ".join(f"{k} `{v}`" for k, v in sorted(versions.items())) or "none")
            + "".join(f"; {e}" for e in extra if e),
            f"- Package: framing-lens {row['package_version']}, code hash `{row['code_hash']}`",
        ]
        if row.get("measure_parameters") and row["measure_parameters"] != "{}":
            lines.append(f"- Measure parameters: `{row['measure_parameters']}`")
        lines.append("")
    Path(path).write_text("\n".join(lines), encoding="utf-8", newline="\n")


_BIB_ESCAPES = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "%": r"\%", "&": r"\&", "#": r"\#", "_": r"\_",
                "$": r"\$", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\u2013": "--", "\u2014": "---"}


def _bib(text: str) -> str:
    """Text as a BibTeX field value: LaTeX specials escaped, so braces stay balanced."""
    return "".join(_BIB_ESCAPES.get(ch, ch) for ch in str(text))


def write_bib(catalog: pd.DataFrame, path) -> None:
    """figures.bib: one @misc entry per catalog figure, key = figure id, sorted by id; title, caption
    as note, package version, code hash, corpus hash, lexicon versions and data hash. No commit hash
    and no date, so an unchanged catalog gives the same bytes."""
    lines = ["% Written by analysis.figures.save_figure with the catalog; regenerate rather than edit.",
             "% Cite a figure by its id, e.g. \\cite{contrast-socialist-mainstream-loaded-rates}.", ""]
    for row in catalog.sort_values("figure_id", kind="stable").to_dict("records"):
        versions = json.loads(row["lexicon_versions"] or "{}")
        fields = [
            ("author", "{framing-lens contributors}"),
            ("title", "{" + _bib(row["title"]) + "}"),
            ("howpublished", _bib(f"framing-lens {row['package_version']}, figure {row['figure_id']} "
                                  f"(files {row['png']}, {row['svg']}, {row['csv']})")),
            ("note", _bib(row["caption"])),
            ("version", _bib(row["package_version"])),
            ("codehash", _bib(row["code_hash"])),
            ("corpushash", _bib(row["corpus_hash"])),
            ("lexiconversions", _bib(", ".join(f"{k} {v}" for k, v in sorted(versions.items())))),
            ("datasha256", _bib(row["data_sha256"])),
        ]
        lines.append(f"@misc{{{row['figure_id']},")
        lines += [f"  {name:<15} = {{{value}}}," for name, value in fields]
        lines[-1] = lines[-1].rstrip(",")
        lines += ["}", ""]
    Path(path).write_text("\n".join(lines), encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------- reading results


def read_results(path) -> tuple[dict[str, pd.DataFrame], dict]:
    """The result tables of a measure run (a folder of CSV, e.g. results/seeds) and its provenance.

    Ids stay strings ("000", not 0); empty cells are NaN as in pandas' default.
    """
    path = Path(path)
    files = sorted(path.glob("*.csv"))
    if not files:
        raise ValueError(f"{path}: no result tables (*.csv); run `python -m analysis measure` or `figures` first")
    tables = {f.stem: pd.read_csv(f, dtype=dict.fromkeys(ID_COLUMNS, str)) for f in files}
    record = path / "provenance.json"
    provenance = json.loads(record.read_text(encoding="utf-8")) if record.exists() else {}
    return tables, provenance
