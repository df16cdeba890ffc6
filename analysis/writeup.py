"""Write-ups: Markdown notes that cite figures by catalog id and numbers by reference into result
tables, rendered to one self-contained HTML file and a PDF, with a lock file that makes a stale
citation an error.

A write-up (`writeups/<name>.md`, pandoc Markdown) declares in its YAML front matter the numbers and
tables it cites, each as a row selection of a table (`from` + `where`), and uses them in the text:

    ![](fig:<figure id>)     the figure, numbered and captioned from figures/catalog.csv
    @fig:<figure id>         "Figure 2", a link to it
    ![](table:<name>)        a declared table, numbered, formatted (and exported as LaTeX)
    @table:<name>            "Table 1"
    {{<name>}}               a declared number, formatted with its unit and interval
    [@hutto2014]             a reference of writeups/references.bib (pandoc citeproc)

`<name>.lock.json` beside it records, for every cited figure, number and table, the hash of the data
it came from and the value the author last read; `check()` names each one that moved. Syntax and
formats: docs/writeups.md.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from analysis.figures import read_catalog
from analysis.plots import p_label
from analysis.provenance import PACKAGE_DIR, canonical_json, file_sha256, sha256_bytes

__all__ = ["WriteupError", "check", "find_writeups", "load", "lock", "render", "resolve"]

DEFAULT_RESULTS = "results/seeds"
RENDERED = "rendered"
FIGURE_BLOCK = r"^!\[(?P<extra>[^\]\n]*)\]\(fig:(?P<fig>[^)\s]+)\)[ \t]*$"
TABLE_BLOCK = r"^!\[(?P<textra>[^\]\n]*)\]\(table:(?P<table>[^)\s]+)\)[ \t]*$"
XREF = r"@(?P<xkind>fig|table):(?P<xid>[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*)"
NUMBER = r"\{\{\s*(?P<number>[^{}\s]+)\s*\}\}"
TOKEN = re.compile(f"{FIGURE_BLOCK}|{TABLE_BLOCK}|{XREF}|{NUMBER}", re.MULTILINE)
# pandoc's citation key: starts with a letter, digit or _, inner punctuation only before more key
CITATION = re.compile(r"(?<![\w@.\\])@(?!fig:|table:)(?P<key>[A-Za-z0-9_](?:[A-Za-z0-9_]|[:.#$%&+?<>~/-](?=[A-Za-z0-9_]))*)")
NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# how a number is shown: the column read, digits, unit after the value, interval label
KINDS = {
    "value": {"column": "value", "digits": None},
    "estimate": {"column": "value", "digits": 2, "interval": "95% CI"},
    "rate": {"column": "value", "digits": 1, "unit": "per 1,000 words", "interval": "95% CI"},
    "difference": {"column": "difference", "digits": 1, "unit": "per 1,000 words", "interval": "95% CI",
                   "signed": True},
    "p": {"column": "p_value"},
    "count": {"column": None},
}
OPTIONS = {"from", "where", "show", "column", "digits", "unit", "interval", "signed", "ci", "empty"}
TABLE_OPTIONS = OPTIONS | {"caption", "rows", "columns", "labels", "extra", "header"}
MINUS, EN_DASH, EM_DASH = "\u2212", "\u2013", "\u2014"

HTML_CSS = """\
body { max-width: 46em; margin: 0 auto; padding: 2em 1.5em; font-family: Georgia, "Times New Roman", serif;
       font-size: 17px; line-height: 1.5; color: #1a1a1a; }
h1 { font-size: 1.5em; } h1.title { font-size: 1.9em; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; }
figcaption, .table-caption { font-size: 0.88em; color: #333; text-align: left; }
table { font-size: 0.9em; margin: 0.5em auto 1.5em; }
th, td { padding: 0.2em 0.7em; }
code { font-size: 0.85em; }
"""
# no date in the PDF's metadata (regeneration gives the same bytes); figures are numbered by the text
TYPST_HEADER = """\
#set document(date: none)
#set figure(numbering: none, placement: auto)
#show table.cell: set par(justify: false)
#show figure.caption: set align(left)
#show figure.caption: set text(size: 9pt)
#show figure: set block(breakable: false)
#set table(stroke: (x, y) => if y == 0 { (bottom: 0.6pt) })
"""


class WriteupError(ValueError):
    """A write-up cites something that does not exist or is ambiguous; the message lists the options."""


def _near(word: str, options) -> str:
    near = difflib.get_close_matches(str(word), [str(o) for o in options], n=5, cutoff=0.5)
    return f"; did you mean {', '.join(map(repr, near))}?" if near else ""


# --------------------------------------------------------------------------- reading a write-up


@dataclass
class Writeup:
    name: str
    path: Path
    root: Path
    meta: dict
    body: str
    numbers: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(f"{self.name}.lock.json")


def find_writeups(writeups_dir, name: str | None = None) -> list[Path]:
    """The write-ups of a folder (`*.md` but README.md), or the one named; an unknown name lists the others."""
    writeups_dir = Path(writeups_dir)
    paths = sorted(p for p in writeups_dir.glob("*.md") if p.name != "README.md")
    if name is None:
        return paths
    stem = Path(name).stem
    chosen = [p for p in paths if p.stem == stem]
    if not chosen:
        names = [p.stem for p in paths]
        raise WriteupError(f"no write-up {name!r} in {writeups_dir.name}/{_near(stem, names)} (write-ups: {names})")
    return chosen


def load(path, *, root=None) -> Writeup:
    """Parse a write-up: YAML front matter (title, author, bibliography, results, numbers, tables) and body."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n(?:---|\.\.\.)\n", text, re.DOTALL)
    if not match:
        raise WriteupError(f"{path.name}: a write-up starts with YAML front matter between '---' lines")
    meta = yaml.safe_load(match.group(1)) or {}
    writeup = Writeup(name=path.stem, path=path, root=Path(root) if root else path.resolve().parent.parent,
                      meta=meta, body=text[match.end():])
    for kind, options in (("numbers", OPTIONS), ("tables", TABLE_OPTIONS)):
        specs = meta.get(kind) or {}
        for name, spec in specs.items():
            _check_spec(path.name, kind, name, spec, options)
        setattr(writeup, kind, specs)
    return writeup


def _check_spec(where: str, kind: str, name: str, spec, options: set) -> None:
    label = f"{where}: {kind[:-1]} {name!r}"
    if not NAME.match(str(name)):
        raise WriteupError(f"{label}: a name may hold only a-z, 0-9 and single hyphens")
    if not isinstance(spec, dict) or "from" not in spec:
        raise WriteupError(f"{label} needs `from:` (a table) and `where:` (column: value, ...)")
    unknown = sorted(set(spec) - options)
    if unknown:
        raise WriteupError(f"{label}: unknown option(s) {unknown}{_near(unknown[0], options)}; options: "
                           f"{sorted(options)}")
    show = spec.get("show", "value")
    if show not in KINDS:
        raise WriteupError(f"{label}: show {show!r} is not one of {sorted(KINDS)}{_near(show, KINDS)}")
    if kind == "tables" and not spec.get("caption"):
        raise WriteupError(f"{label} needs a caption")


# --------------------------------------------------------------------------- sources of data


class Sources:
    """The tables a write-up may cite, read as text (so a hash sees the bytes' values, not floats):

    - `<table>`: a result table of the results folder (default results/seeds), e.g. `estimates`;
    - `fig:<figure id>`: the data drawn in a catalog figure (figures/<id>.csv);
    - `lexicon:<name>`: a packaged lexicon (analysis/lexicons/<name>.csv);
    - `vader:lexicon`: VADER's own lexicon (term, valence) of the installed vaderSentiment.
    """

    def __init__(self, root, results: str = DEFAULT_RESULTS):
        self.root = Path(root)
        self.results = self.root / results
        self.figures = self.root / "figures"
        self.catalog = read_catalog(self.figures / "catalog.csv").set_index("figure_id", drop=False)
        self._tables: dict[str, pd.DataFrame] = {}

    def figure(self, figure_id: str) -> dict:
        if figure_id not in self.catalog.index:
            raise WriteupError(f"figure {figure_id!r} is not in figures/catalog.csv"
                               f"{_near(figure_id, self.catalog.index)}")
        row = self.catalog.loc[figure_id].to_dict()
        data = self.figures / row["csv"]
        if not data.is_file():
            raise WriteupError(f"figure {figure_id!r}: its data file figures/{row['csv']} is gone")
        return {**row, "data_sha256": file_sha256(data)}

    def table(self, source: str) -> pd.DataFrame:
        if source not in self._tables:
            self._tables[source] = self._read(source)
        return self._tables[source]

    def _read(self, source: str) -> pd.DataFrame:
        kind, _, name = source.partition(":") if ":" in source else ("", "", source)
        if kind == "fig":
            return _read_text_csv(self.figures / self.figure(name)["csv"])
        if kind == "lexicon":
            path = PACKAGE_DIR / "lexicons" / f"{name}.csv"
            if not path.is_file():
                known = sorted(p.stem for p in path.parent.glob("*.csv"))
                raise WriteupError(f"no lexicon {name!r}{_near(name, known)}; lexicons: {known}")
            return _read_text_csv(path)
        if source == "vader:lexicon":
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

            lexicon = SentimentIntensityAnalyzer().lexicon
            return pd.DataFrame({"term": sorted(lexicon), "valence": [str(lexicon[t]) for t in sorted(lexicon)]})
        path = self.results / f"{source}.csv"
        if kind or not path.is_file():
            known = sorted(p.stem for p in self.results.glob("*.csv"))
            raise WriteupError(f"no table {source!r}{_near(source, known)}; tables: {known}, or fig:<figure id>, "
                               "lexicon:<name>, vader:lexicon")
        return _read_text_csv(path)


def _read_text_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _as_text(value) -> str:
    """A where-value as the CSV text it must equal (YAML 0.25 -> '0.25', False -> 'False')."""
    return str(value)


def _where_text(where: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in where.items())


def select(frame: pd.DataFrame, where: dict, source: str, *, allow_absent: bool = False) -> pd.DataFrame:
    """The rows whose columns equal the `where` values (a list means any of them, in that order).

    A column the table lacks is an error listing the columns; a value that never occurs in its column
    is an error listing near values (unless `allow_absent`), so a typo never reads as a count of 0.
    """
    rows = frame
    for column, wanted in (where or {}).items():
        if column not in frame.columns:
            raise WriteupError(f"{source} has no column {column!r}{_near(column, frame.columns)}; columns: "
                               f"{list(frame.columns)}")
        values = [_as_text(v) for v in (wanted if isinstance(wanted, list) else [wanted])]
        absent = [v for v in values if v not in set(frame[column])]
        if absent and not allow_absent:
            raise WriteupError(f"{source}: {column} has no value {absent[0]!r}"
                               f"{_near(absent[0], sorted(set(frame[column])))}")
        rows = rows[rows[column].isin(values)]
        if isinstance(wanted, list):
            rows = rows.iloc[sorted(range(len(rows)), key=lambda i: values.index(rows[column].iloc[i]))]
    return rows


def rows_sha256(rows: pd.DataFrame) -> str:
    """sha256 of the selected rows as text (columns and values), the identity of a cited number."""
    return sha256_bytes(canonical_json({"columns": list(rows.columns), "rows": rows.values.tolist()}).encode("utf-8"))


# --------------------------------------------------------------------------- formatting


def _number(text) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def format_number(value: float, digits: int | None = None, *, signed: bool = False) -> str:
    """1234.5 -> '1,234.5'; a true minus sign; '+' when signed; an integral value without decimals
    when digits is None."""
    if digits is None:
        digits = 0 if float(value).is_integer() else 2
    text = f"{value:,.{digits}f}"
    if text.startswith("-"):
        text = text[1:] if float(text[1:].replace(",", "")) == 0 else MINUS + text[1:]
    elif signed and float(text.replace(",", "")) != 0:
        text = "+" + text
    return text


def format_interval(low: float, high: float, digits: int | None) -> str:
    """'14.4–36.7', or '−4.2 to 22.5' where a bound is negative (a dash would read as a minus)."""
    joiner = " to " if min(low, high) < 0 else EN_DASH
    return f"{format_number(low, digits)}{joiner}{format_number(high, digits)}"


def _options(spec: dict) -> dict:
    kind = spec.get("show", "value")
    return {**KINDS[kind], **{k: v for k, v in spec.items() if k in OPTIONS - {"from", "where", "show"}},
            "show": kind}


def _one_row(rows: pd.DataFrame, label: str) -> dict:
    if len(rows) == 1:
        return rows.iloc[0].to_dict()
    differ = [c for c in rows.columns if rows[c].nunique() > 1]
    hint = "; ".join(f"{c} ({', '.join(sorted(set(rows[c]))[:6])})" for c in differ[:4])
    raise WriteupError(f"{label} selects {len(rows)} rows, not one; the rows differ in {hint}: add them to where")


def _cell(row: dict, column: str, label: str):
    if column not in row:
        raise WriteupError(f"{label}: the table has no column {column!r}{_near(column, row)}")
    return row[column]


def format_rows(rows: pd.DataFrame, spec: dict, label: str, *, compact: bool = False) -> str:
    """The text of a cited number: `show` kind and options applied to the selected row(s).

    compact (table cells): no unit and no interval label, '24.7 (14.4–36.7)'."""
    opts = _options(spec)
    kind = opts["show"]
    if rows.empty and "empty" in opts:
        return str(opts["empty"])
    if kind == "count":
        column = opts.get("column")
        total = len(rows) if not column else sum(_number(_cell(r, column, label)) or 0
                                                  for r in rows.to_dict("records"))
        return format_number(total, opts.get("digits"))
    row = _one_row(rows, label)
    if kind == "p":
        return p_label(float(_cell(row, "p_value", label)), float(_cell(row, "min_p", label)))
    raw = _cell(row, opts["column"], label)
    value = _number(raw)
    if value is None:
        return str(raw)  # text (a term, a sentence) is shown as written
    text = format_number(value, opts.get("digits"), signed=bool(opts.get("signed")))
    if opts.get("unit") and not compact:
        text += f" {opts['unit']}"
    if opts.get("interval"):
        low_col, high_col = opts.get("ci", ["ci_low", "ci_high"])
        low, high = _number(_cell(row, low_col, label)), _number(_cell(row, high_col, label))
        if low is not None and high is not None:
            interval = format_interval(low, high, opts.get("digits"))
            text += f" ({interval})" if compact else f" ({opts['interval']} {interval})"
    return text


# --------------------------------------------------------------------------- resolving references


@dataclass
class Resolved:
    """What a write-up cites, resolved against the data: in order of appearance, with errors collected."""

    figures: dict = field(default_factory=dict)  # id -> {"number", "title", "caption", "data_sha256", "svg", "extra"}
    tables: dict = field(default_factory=dict)  # name -> {"number", "caption", "header", "rows", ...}
    numbers: dict = field(default_factory=dict)  # name -> {"value", "rows_sha256", "source", "where"}
    citations: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)  # (kind, name) -> why it did not resolve

    def fail(self, kind: str, name: str, message: str) -> None:
        getattr(self, kind)[name] = None
        self.failed[(kind, name)] = message
        self.errors.append(message)


def _cite_number(sources: Sources, name: str, spec: dict) -> dict:
    label = f"number {name!r} ({spec['from']}: {_where_text(spec.get('where') or {})})"
    frame = sources.table(spec["from"])
    allow_absent = "empty" in spec
    rows = select(frame, spec.get("where") or {}, spec["from"], allow_absent=allow_absent)
    if rows.empty and spec.get("show", "value") != "count" and not allow_absent:
        raise WriteupError(f"{label} selects no row; add `empty:` (the text to show then) if that can be")
    return {"source": spec["from"], "where": spec.get("where") or {}, "rows_sha256": rows_sha256(rows),
            "value": format_rows(rows, spec, label)}


def _ordered(values, wanted) -> list:
    if isinstance(wanted, list):
        return [_as_text(w) for w in wanted if _as_text(w) in set(values)]
    return sorted(set(values))


def _cite_table(sources: Sources, name: str, spec: dict) -> dict:
    label = f"table {name!r} ({spec['from']})"
    where = spec.get("where") or {}
    rows = select(sources.table(spec["from"]), where, spec["from"])
    labels = {str(k): str(v) for k, v in (spec.get("labels") or {}).items()}
    row_col, col_col = spec.get("rows"), spec.get("columns")
    if not row_col or row_col not in rows.columns:
        raise WriteupError(f"{label}: `rows:` must name a column{_near(row_col, rows.columns)}; columns: "
                           f"{list(rows.columns)}")
    extra = list(spec.get("extra") or [])
    row_keys = _ordered(rows[row_col], where.get(row_col))
    if col_col:
        if col_col not in rows.columns:
            raise WriteupError(f"{label}: `columns:` {col_col!r} is not a column{_near(col_col, rows.columns)}")
        col_keys = _ordered(rows[col_col], where.get(col_col))
        header = [labels.get(row_col, row_col), *[labels.get(c, c) for c in col_keys]]
        body = []
        for r in row_keys:
            cells = []
            for c in col_keys:
                cell = rows[(rows[row_col] == r) & (rows[col_col] == c)]
                cells.append(EM_DASH if cell.empty else format_rows(cell, spec, f"{label} cell {r}/{c}", compact=True))
            body.append([labels.get(r, r), *cells])
    else:
        shown = spec.get("header", _options(spec).get("column") or spec.get("show", "value"))
        header = [labels.get(row_col, row_col), labels.get(shown, shown), *[labels.get(c, c) for c in extra]]
        body = []
        for r in row_keys:
            cell = rows[rows[row_col] == r]
            one = _one_row(cell, f"{label} row {r}")
            body.append([labels.get(r, r), format_rows(cell, spec, f"{label} row {r}", compact=True),
                         *[_plain(_cell(one, c, label)) for c in extra]])
    return {"source": spec["from"], "where": where, "rows_sha256": rows_sha256(rows), "caption": str(spec["caption"]),
            "value": [header, *body]}


def _plain(raw: str) -> str:
    value = _number(raw)
    return format_number(value) if value is not None and value.is_integer() else str(raw)


def resolve(writeup: Writeup, sources: Sources | None = None) -> Resolved:
    """Resolve every figure, table, number and citation of a write-up; errors are collected, not raised."""
    sources = sources or Sources(writeup.root, writeup.meta.get("results", DEFAULT_RESULTS))
    out = Resolved()
    placed_figures, placed_tables, used_numbers, xrefs = [], [], [], []
    for m in TOKEN.finditer(writeup.body):
        if m.group("fig"):
            placed_figures.append((m.group("fig"), m.group("extra")))
        elif m.group("table"):
            placed_tables.append((m.group("table"), m.group("textra")))
        elif m.group("xkind"):
            xrefs.append((m.group("xkind"), m.group("xid")))
        elif m.group("number") and m.group("number") not in used_numbers:
            used_numbers.append(m.group("number"))
    for number, (fid, extra) in enumerate(placed_figures, start=1):
        if fid in out.figures:
            out.errors.append(f"figure {fid!r} is shown twice; refer to it again with @fig:{fid}")
            continue
        try:
            row = sources.figure(fid)
        except WriteupError as exc:
            out.fail("figures", fid, str(exc))
            continue
        out.figures[fid] = {"number": number, "title": row["title"], "caption": row["caption"], "svg": row["svg"],
                            "csv": row["csv"], "data_sha256": row["data_sha256"], "extra": extra.strip()}
    for number, (name, _extra) in enumerate(placed_tables, start=1):
        if name not in writeup.tables:
            out.errors.append(f"table {name!r} is not declared under `tables:`{_near(name, writeup.tables)}")
            continue
        try:
            out.tables[name] = {"number": number, **_cite_table(sources, name, writeup.tables[name])}
        except WriteupError as exc:
            out.fail("tables", name, str(exc))
    for kind, xid in xrefs:
        placed = out.figures if kind == "fig" else out.tables
        if xid not in placed:
            what = "figure" if kind == "fig" else "table"
            known = list(sources.catalog.index) if kind == "fig" else list(writeup.tables)
            shown = f" (the write-up shows {list(placed)})" if placed else ""
            out.errors.append(f"@{kind}:{xid} refers to a {what} the write-up does not show with "
                              f"![]({kind}:{xid}){_near(xid, known)}{shown}")
    for name in used_numbers:
        if name not in writeup.numbers:
            out.errors.append(f"number {{{{{name}}}}} is not declared under `numbers:`{_near(name, writeup.numbers)}")
            continue
        try:
            out.numbers[name] = _cite_number(sources, name, writeup.numbers[name])
        except WriteupError as exc:
            out.fail("numbers", name, str(exc))
    unused = [n for n in writeup.numbers if n not in used_numbers] + \
             [t for t in writeup.tables if t not in [name for name, _ in placed_tables]]
    if unused:
        out.errors.append(f"declared but never cited in the text: {unused}")
    out.citations = citation_keys(writeup.body)
    known = bibliography_keys(writeup)
    missing = [k for k in out.citations if k not in known]
    for key in missing:
        out.errors.append(f"citation @{key} is not in {writeup.meta.get('bibliography')}{_near(key, known)}")
    return out


def citation_keys(body: str) -> list[str]:
    """The citation keys a body uses (pandoc syntax: [@key], @key), in order, without figure/table refs."""
    keys = []
    for m in CITATION.finditer(_without_code(body)):
        if m.group("key") not in keys:
            keys.append(m.group("key"))
    return keys


def _without_code(text: str) -> str:
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def bibliography_keys(writeup: Writeup) -> list[str]:
    """Entry keys of the write-up's bibliography file (`@type{key,` lines)."""
    bib = writeup.meta.get("bibliography")
    if not bib:
        return []
    path = writeup.path.parent / bib
    if not path.is_file():
        raise WriteupError(f"{writeup.path.name}: bibliography {bib} does not exist")
    return re.findall(r"^\s*@\w+\s*\{\s*([^,\s]+)\s*,", path.read_text(encoding="utf-8"), flags=re.MULTILINE)


# --------------------------------------------------------------------------- Markdown for pandoc


def md_escape(text: str) -> str:
    """Text as literal pandoc Markdown (no emphasis, links, citations or math)."""
    return re.sub(r"([\\`*_\[\]<>#$@~^|])", r"\\\1", str(text))


def _figure_md(fid: str, fig: dict) -> str:
    caption = f"**Figure {fig['number']}.** {md_escape(fig['title'])}. {md_escape(fig['caption'])}"
    if fig["extra"]:
        caption += f" {fig['extra']}"
    caption += f" (figure `{fid}`)"
    return f"![{caption}]({fig['svg']}){{#fig-{fid}}}"


def _table_md(name: str, table: dict) -> str:
    """A pipe table with its caption, inside a div that carries the id links point to (rendered with a
    wide --columns, so pandoc sizes the columns to their content)."""
    cells = [[md_escape(c) for c in row] for row in table["value"]]
    rule = "|:--" + "|--:" * (len(cells[0]) - 1) + "|"
    lines = [f"::: {{#tbl-{name} .cited-table}}", "| " + " | ".join(cells[0]) + " |", rule,
             *["| " + " | ".join(row) + " |" for row in cells[1:]], "",
             f": **Table {table['number']}.** {md_escape(table['caption'])}", "", ":::"]
    return "\n".join(lines)


def to_markdown(writeup: Writeup, resolved: Resolved) -> str:
    """The write-up as plain pandoc Markdown: figures, tables, references and numbers filled in."""
    if resolved.errors:
        raise WriteupError(f"{writeup.path.name}:\n  " + "\n  ".join(resolved.errors))

    def replace(m: re.Match) -> str:
        if m.group("fig"):
            return _figure_md(m.group("fig"), resolved.figures[m.group("fig")])
        if m.group("table"):
            return _table_md(m.group("table"), resolved.tables[m.group("table")])
        if m.group("xkind") == "fig":
            return f"[Figure {resolved.figures[m.group('xid')]['number']}](#fig-{m.group('xid')})"
        if m.group("xkind") == "table":
            return f"[Table {resolved.tables[m.group('xid')]['number']}](#tbl-{m.group('xid')})"
        return md_escape(resolved.numbers[m.group("number")]["value"])

    keep = {k: writeup.meta[k] for k in ("title", "subtitle", "author", "abstract", "lang") if k in writeup.meta}
    if writeup.meta.get("bibliography"):
        keep["bibliography"] = Path(writeup.meta["bibliography"]).name
        keep["link-citations"] = True
    front = yaml.safe_dump(keep, allow_unicode=True, sort_keys=True, width=1000)
    return f"---\n{front}---\n{TOKEN.sub(replace, writeup.body)}"


# --------------------------------------------------------------------------- LaTeX tables

_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
          "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", EN_DASH: "--", EM_DASH: "---",
          MINUS: "$-$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in str(text))


def table_latex(writeup: Writeup, name: str, table: dict) -> str:
    """A cited table as a LaTeX (booktabs) table for authors who write there."""
    header, *body = table["value"]
    lines = [(f"% Table {table['number']} of writeups/{writeup.path.name} ({name}); written by `python -m analysis "
              "writeup`, regenerate rather than edit."),
             f"% Data: {table['source']}, {_where_text(table['where'])}; rows sha256 {table['rows_sha256'][:12]}.",
             "% Needs \\usepackage{booktabs}.",
             "\\begin{table}[htbp]", "\\centering",
             f"\\caption{{{latex_escape(table['caption'])}}}", f"\\label{{tab:{name}}}",
             f"\\begin{{tabular}}{{l{'r' * (len(header) - 1)}}}", "\\toprule",
             " & ".join(latex_escape(h) for h in header) + r" \\", "\\midrule"]
    lines += [" & ".join(latex_escape(c) for c in row) + r" \\" for row in body]
    lines += ["\\bottomrule", "\\end{tabular}", "\\end{table}", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- rendering


def pandoc_path() -> str:
    """The pandoc binary shipped by pypandoc_binary (pinned, so output does not change with the machine)."""
    import pypandoc

    return pypandoc.get_pandoc_path()


def _pandoc(args: list[str], cwd: Path) -> None:
    result = subprocess.run([pandoc_path(), *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise WriteupError(f"pandoc failed: {result.stderr.strip()}")


def render(path, *, root=None, out_dir=None) -> list[Path]:
    """Render a write-up to `<out_dir>/<name>.html` (self-contained), `<name>.pdf` and one
    `<name>-table-<k>.tex` per cited table; out_dir defaults to writeups/rendered. Returns the files.

    Unknown ids, undeclared numbers or unknown citation keys raise WriteupError listing near matches.
    """
    import typst

    writeup = load(path, root=root)
    resolved = resolve(writeup)
    markdown = to_markdown(writeup, resolved)
    out = Path(out_dir) if out_dir else writeup.path.parent / RENDERED
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "note.md").write_text(markdown, encoding="utf-8")
        (tmp / "style.css").write_text(HTML_CSS, encoding="utf-8")
        (tmp / "header.typ").write_text(TYPST_HEADER, encoding="utf-8")
        for fig in resolved.figures.values():
            shutil.copyfile(writeup.root / "figures" / fig["svg"], tmp / fig["svg"])
        common = ["note.md", "--from", "markdown", "--citeproc", "--resource-path", ".", "--columns", "1000"]
        if writeup.meta.get("bibliography"):
            shutil.copyfile(writeup.path.parent / writeup.meta["bibliography"],
                            tmp / Path(writeup.meta["bibliography"]).name)
        _pandoc([*common, "--to", "html5", "--standalone", "--embed-resources", "--css", "style.css",
                 "--output", "note.html"], tmp)
        _pandoc([*common, "--to", "typst", "--standalone", "--include-in-header", "header.typ",
                 "--variable", "papersize=a4", "--output", "note.typ"], tmp)
        pdf = typst.compile(str(tmp / "note.typ"), root=str(tmp), font_paths=[], ignore_system_fonts=True)
        html_path, pdf_path = out / f"{writeup.name}.html", out / f"{writeup.name}.pdf"
        html_path.write_bytes((tmp / "note.html").read_bytes())
        pdf_path.write_bytes(pdf)
        written += [html_path, pdf_path]
    for name, table in sorted(resolved.tables.items(), key=lambda kv: kv[1]["number"]):
        tex = out / f"{writeup.name}-table-{table['number']}.tex"
        tex.write_text(table_latex(writeup, name, table), encoding="utf-8", newline="\n")
        written.append(tex)
    for stale in out.glob(f"{writeup.name}-table-*.tex"):
        if stale not in written:
            stale.unlink()
    return written


# --------------------------------------------------------------------------- lock and check


def lock_record(writeup: Writeup, resolved: Resolved) -> dict:
    """What the lock file holds: per cited figure its data hash and title; per number and table the
    source, selection, hash of the selected rows and the value as shown."""
    return {
        "note": (f"What writeups/{writeup.path.name} cites, as its author last read it. `python -m analysis writeup "
                 f"{writeup.name} --check` names what changed since; `--lock` rewrites this file after re-reading."),
        "figures": {fid: {"data_sha256": f["data_sha256"], "title": f["title"]} for fid, f in resolved.figures.items()},
        "numbers": {n: {k: v[k] for k in ("source", "where", "rows_sha256", "value")}
                    for n, v in resolved.numbers.items()},
        "tables": {n: {k: v[k] for k in ("source", "where", "rows_sha256", "value")} for n, v in resolved.tables.items()},
    }


def lock(path, *, root=None) -> Path:
    """Write `<name>.lock.json` from the data as it is now (after the author has re-read the text)."""
    writeup = load(path, root=root)
    resolved = resolve(writeup)
    if resolved.errors:
        raise WriteupError(f"{writeup.path.name}:\n  " + "\n  ".join(resolved.errors))
    record = lock_record(writeup, resolved)
    writeup.lock_path.write_text(json.dumps(record, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
                                 encoding="utf-8", newline="\n")
    return writeup.lock_path


def _short(sha: str) -> str:
    return sha[:12]


def _table_changes(old: list, new: list) -> str:
    if not old or not new or old[0] != new[0] or len(old) != len(new):
        return f"was {old}, now {new}"
    header = new[0]
    changes = [f"{o[0]} / {header[j]}: {o[j]!r} -> {n[j]!r}" for o, n in zip(old[1:], new[1:])
               for j in range(1, len(header)) if o[j] != n[j] or o[0] != n[0]]
    return "; ".join(changes) if changes else "same cells, rows changed"


def check(path, *, root=None) -> list[str]:
    """Compare what a write-up cites now with its lock file. Returns one message per figure that is
    gone or whose data changed, per number or table that moved (old and new values), per citation not
    locked yet or locked but no longer cited; empty when the text can stand as written."""
    writeup = load(path, root=root)
    if not writeup.lock_path.is_file():
        return [(f"{writeup.path.name}: no lock file {writeup.lock_path.name}; read the note, then run "
                 f"`python -m analysis writeup {writeup.name} --lock`")]
    locked = json.loads(writeup.lock_path.read_text(encoding="utf-8"))
    resolved = resolve(writeup)
    item_errors = set(resolved.failed.values())
    problems = [f"{writeup.path.name}: {e}" for e in resolved.errors if e not in item_errors]
    now = {"figures": resolved.figures, "numbers": resolved.numbers, "tables": resolved.tables}
    for kind, singular in (("figures", "figure"), ("numbers", "number"), ("tables", "table")):
        old_all = locked.get(kind, {})
        for name, new in now[kind].items():
            old = old_all.get(name)
            if new is None:
                was = (f" (locked: data sha256 {_short(old['data_sha256'])})" if old and kind == "figures"
                       else f" (locked value: {old['value']!r})" if old else "")
                problems.append(f"{singular} {name} is gone{was}: {resolved.failed[(kind, name)]}")
            elif old is None:
                problems.append(f"{singular} {name}: cited but not in the lock file; read it, then run --lock")
            elif kind == "figures":
                if old["data_sha256"] != new["data_sha256"]:
                    problems.append(f"figure {name}: its data changed: data sha256 {_short(old['data_sha256'])} "
                                    f"-> {_short(new['data_sha256'])} (figures/{new['csv']}); re-read "
                                    "what the text says about it")
            elif old["value"] != new["value"]:
                detail = (f"was {old['value']!r}, now {new['value']!r}" if kind == "numbers"
                          else _table_changes(old["value"], new["value"]))
                problems.append(f"{singular} {name} ({new['source']}: {_where_text(new['where'])}) moved: {detail}")
            elif old["rows_sha256"] != new["rows_sha256"]:
                problems.append(f"{singular} {name} ({new['source']}: {_where_text(new['where'])}): its rows changed "
                                f"(rows sha256 {_short(old['rows_sha256'])} -> {_short(new['rows_sha256'])}), "
                                f"shown value unchanged {new['value']!r}")
        for name in sorted(set(old_all) - set(now[kind])):
            problems.append(f"{singular} {name}: in the lock file but no longer cited; run --lock")
    return problems


def render_all(writeups_dir, *, name: str | None = None, out=None, err=None) -> int:
    """Render every write-up (or the one named) and warn where the lock says it is stale; 0 if all rendered."""
    out, err = out or sys.stdout, err or sys.stderr
    status = 0
    for path in find_writeups(writeups_dir, name):
        try:
            files = render(path)
        except WriteupError as exc:
            print(f"error: {exc}", file=err)
            status = 1
            continue
        root = path.resolve().parent.parent
        print(f"{path.stem}: " + ", ".join(str(f.resolve().relative_to(root)) for f in files), file=out)
        problems = check(path)
        if problems:
            print(f"warning: {path.name} cites data that changed since it was locked (re-read, then --lock):\n  "
                  + "\n  ".join(problems), file=err)
    return status
