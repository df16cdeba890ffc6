"""Result tables -> matplotlib figures: one function per chart, each returning `(fig, data)`.

`data` is the tidy table actually drawn (written beside the figure as CSV). Every function is pure:
no file is written, no pyplot state is touched (figures are `matplotlib.figure.Figure` objects with
an Agg canvas), and a bad unit, category, group or document raises ValueError listing the valid
values. The house style (palette, fonts, sizes) lives here too, because drawing needs it; the
`figures` step re-exports it and adds the file writing. See docs/figures.md.
"""

from __future__ import annotations

import functools
import itertools
import math
import textwrap
from collections.abc import Iterable, Mapping

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from analysis.compare import ALL, REST, VOICES, drop_copy_bodies
from analysis.provenance import DATA_DIR

PALETTE_FILE = DATA_DIR / "palette.csv"
PALETTE_PREFIX = "palette:"
MAX_COLOURS = 8
SINGLE_COLUMN = 3.5  # inches (8.9 cm): one journal column
DOUBLE_COLUMN = 7.0  # inches (17.8 cm): full page width
NEUTRAL = 0.05  # VADER: compound >= 0.05 positive, <= -0.05 negative (Hutto & Gilbert 2014)
Z_CRITICAL = 1.96
MIN_BOX = 5  # fewer sentences than this: dots only, a box of 3 points would suggest quartiles
CLEANING_ACTIONS = ("removed", "to_metadata", "to_section", "joined")
SECTION_ORDER = ("headline", "deck", "body", "caption", "added")
GRID_GREY = "#D9D9D9"  # non-data ink (grid, neutral band): a grey, not a palette colour
TEXT_GREY = "#555555"

# Sizes chosen to stay >= 7 pt when the figure is printed at its design width (3.5 or 7 in).
HOUSE_RC = {
    "font.family": "DejaVu Sans",  # bundled with matplotlib: the same glyphs on every machine
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "legend.frameon": False,
    "figure.titlesize": 8,
    "figure.labelsize": 8,
    "figure.facecolor": "white",
    "figure.dpi": 100,
    "figure.constrained_layout.h_pad": 0.04,
    "figure.constrained_layout.w_pad": 0.09,  # room for half a tick label at the right edge
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "axes.edgecolor": "black",
    "axes.grid": True,
    "axes.grid.axis": "x",
    "axes.axisbelow": True,
    "grid.color": GRID_GREY,
    "grid.linewidth": 0.4,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 0,
    "lines.linewidth": 1.0,
    "lines.markersize": 4,
    "text.parse_math": False,  # labels are data: "$5" is five dollars, not mathtext
    "svg.fonttype": "path",  # glyphs as paths: the SVG looks like the PNG without the font installed
    "svg.hashsalt": "framing-lens",  # fixed ids inside the SVG, so equal figures give equal bytes
    "savefig.dpi": 300,
    "savefig.bbox": None,  # keep the design width; constrained layout keeps text inside
    "savefig.facecolor": "white",
}


# --------------------------------------------------------------------------- house style


def house_style():
    """Context manager applying the house rcParams (fonts, sizes, spines, SVG determinism)."""
    return mpl.rc_context(HOUSE_RC)


@functools.lru_cache(maxsize=1)
def _palette() -> tuple[tuple[str, ...], dict[str, str]]:
    """(palette colours in assignment order, fixed colour per name) from data/palette.csv."""
    table = pd.read_csv(PALETTE_FILE, dtype=str, keep_default_na=False)
    if list(table.columns) != ["name", "colour", "source"]:
        raise ValueError(f"{PALETTE_FILE.name}: columns must be name,colour,source (found {list(table.columns)})")
    bad = table.loc[~table["colour"].str.fullmatch(r"#[0-9A-Fa-f]{6}"), "colour"].tolist()
    if bad:
        raise ValueError(f"{PALETTE_FILE.name}: colours must be #RRGGBB, not {bad}")
    if table["name"].duplicated().any():
        raise ValueError(f"{PALETTE_FILE.name}: repeated names {table.loc[table['name'].duplicated(), 'name'].tolist()}")
    is_palette = table["name"].str.startswith(PALETTE_PREFIX)
    palette = tuple(table.loc[is_palette, "colour"].str.upper())
    named = dict(zip(table.loc[~is_palette, "name"], table.loc[~is_palette, "colour"].str.upper()))
    if not 0 < len(set(palette)) == len(palette) <= MAX_COLOURS:
        raise ValueError(f"{PALETTE_FILE.name}: the palette needs 1 to {MAX_COLOURS} distinct colours")
    foreign = sorted(set(named.values()) - set(palette))
    if foreign:
        raise ValueError(f"{PALETTE_FILE.name}: colours {foreign} are not palette colours {list(palette)}")
    return palette, named


def palette() -> list[str]:
    """The palette's colours (Okabe & Ito 2008) in the order they are handed to unnamed names."""
    return list(_palette()[0])


def colours(names: Iterable, *, groups: Mapping | None = None) -> dict[str, str]:
    """Each name's colour: its row in data/palette.csv, else the palette colours the other names
    do not use, given out in sorted-name order (so the same names always get the same colours).

    More than 8 distinct names cannot have distinct colours: pass `groups` (name -> group) and each
    name gets its group's colour; the chart must then label every name (the plots here do).
    """
    names = list(dict.fromkeys(str(n) for n in names))
    colours_, named = _palette()
    if len(names) > len(colours_):
        if groups is None:
            raise ValueError(f"{len(names)} names but the palette has {len(colours_)} colours; pass groups= "
                             "(a mapping name -> group) to colour by group")
        missing = [n for n in names if n not in groups]
        if missing:
            raise ValueError(f"groups has no group for {missing[:10]}; every name needs one")
        by_group = colours(sorted({str(groups[n]) for n in names}))
        return {n: by_group[str(groups[n])] for n in names}
    out = {n: named[n] for n in names if n in named}
    free = [c for c in colours_ if c not in set(out.values())]
    out.update(zip(sorted(n for n in names if n not in named), free))
    return {n: out[n] for n in names}


def _styled(plot):
    """Draw under the house style, so a figure looks the same in a notebook and in its files."""
    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        with house_style():
            return plot(*args, **kwargs)
    return wrapper


def _unit_colours(units: list[str], groups: Mapping | None) -> dict[str, str]:
    """Colours for labelled rows: by `groups` (unit -> colour key: doc_id -> outlet, outlet -> group)
    when given, else per unit up to 8, else one colour (every row is labelled anyway)."""
    if groups is not None:
        missing = [u for u in units if u not in groups]
        if missing:
            raise ValueError(f"groups has no entry for {missing[:10]}; every unit drawn needs one")
        by_key = colours(sorted({str(groups[u]) for u in units}))
        return {u: by_key[str(groups[u])] for u in units}
    if len(units) <= MAX_COLOURS:
        return colours(units)
    return dict.fromkeys(units, palette()[0])


def _text_colour(colour: str) -> str:
    """Black or white, whichever reads better on `colour` (relative luminance, WCAG 2.0)."""
    rgb = np.array(mpl.colors.to_rgb(colour))
    lin = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return "black" if lin @ [0.2126, 0.7152, 0.0722] > 0.179 else "white"


# --------------------------------------------------------------------------- validation and tables

_NUMERIC = ("value", "ci_low", "ci_high", "count", "n_words", "n_docs", "difference", "p_value", "min_p",
            "n_docs_a", "n_docs_b", "count_a", "count_b", "log_odds", "z", "q_value", "compound", "compound_masked",
            "share_quoted", "share_reported", "sentence_id", "line_no", "n", "n_yes", "precision")
_TEXT = ("doc_id", "unit", "warning", "ci_method", "ci_unit", "duplicate_of", "outlet", "outlet_group", "group_a",
         "group_b", "term", "category", "lexicon", "voice", "section", "measure", "unit_type", "action", "rule_id")


def _table(df: pd.DataFrame, name: str, required: Iterable[str]) -> pd.DataFrame:
    """A copy with the required columns checked, numbers as floats and labels as str ('' for missing),
    whether the table came from measure() or from CSV."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, not {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {list(df.columns)}")
    out = df.copy()
    for col in out.columns.intersection(_NUMERIC):
        out[col] = pd.to_numeric(out[col].replace("", np.nan), errors="coerce").astype(float)
    for col in out.columns.intersection(_TEXT):
        out[col] = out[col].astype(object).where(out[col].notna(), "").astype(str)
    if "duplicate_of" in out.columns:  # read from CSV, "002" may have become "2.0"
        out["duplicate_of"] = out["duplicate_of"].str.removesuffix(".0")
    return out


def _valid(values) -> list[str]:
    return sorted({str(v) for v in values})


def _check(value, valid, name: str, table: str) -> None:
    if value not in valid:
        raise ValueError(f"{name}={value!r} is not in the {table}; valid values: {list(valid)}")


def _subset(df: pd.DataFrame, table: str, **where) -> pd.DataFrame:
    """Rows matching every column=value, checking each value against what the rows so far hold."""
    for col, value in where.items():
        _check(value, _valid(df[col]), col, table)
        df = df[df[col] == value]
    return df


def _pick(requested, available: Iterable[str], name: str, table: str, *, first: str | None = None) -> list[str]:
    """The requested values (str or list) checked against `available`; None -> all, sorted, `first` first."""
    valid = _valid(available)
    if first in valid:
        valid = [first] + [v for v in valid if v != first]
    if requested is None:
        return valid
    requested = [requested] if isinstance(requested, str) else [str(v) for v in requested]
    for value in requested:
        _check(value, valid, name, table)
    if not requested:
        raise ValueError(f"{name}: choose at least one of {valid}")
    return list(dict.fromkeys(requested))


def _wrap(label: str, width: int = 22) -> str:
    return "\n".join(textwrap.wrap(str(label), width, break_on_hyphens=False)) or str(label)


def _nice(name: str) -> str:
    return str(name).replace("_", " ")


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _voice_phrase(voice: str) -> str:
    return "all voices" if voice == ALL else f"{voice} voice"


def _cell_phrase(voice: str, section: str) -> str:
    return _voice_phrase(voice) + ("" if section == ALL else f", {section}")


def _format_p(p: float) -> str:
    if not np.isfinite(p):
        return "n/a"
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


# --------------------------------------------------------------------------- interval markers

_WARN_KINDS = (  # (substring of the estimates' warning, marker, legend note); drawn as open markers
    ("within-article variation only", "o", "interval: within-article variation only (1 document)"),
    ("little of the variation between articles", "D", "interval: little between-article variation (2-4 documents)"),
    ("", "^", "other warning: see the data table"),
)
NO_INTERVAL = -2  # no interval computed (e.g. document estimates without doc_intervals): a filled square


def _marker_kind(lo: float, hi: float, warning: str) -> int:
    """NO_INTERVAL, -1 for a plain interval, else the index of the warning in _WARN_KINDS."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return NO_INTERVAL
    if not warning:
        return -1
    return next(i for i, (text, _, _) in enumerate(_WARN_KINDS) if text in warning)


def _draw_interval(ax, x, lo, hi, y, colour: str, warning: str, *, size: float = 16) -> None:
    kind = _marker_kind(lo, hi, warning)
    if kind != NO_INTERVAL:
        ax.plot([lo, hi], [y, y], color=colour, linewidth=1.1, solid_capstyle="butt", zorder=2)
    marker = {NO_INTERVAL: "s", -1: "o"}.get(kind) or _WARN_KINDS[kind][1]
    face = colour if kind < 0 else "white"
    ax.scatter([x], [y], s=size, marker=marker, facecolors=face, edgecolors=colour, linewidths=1.0, zorder=3)


def _marker_handles(data: pd.DataFrame) -> list:
    """Legend entries for the marker kinds drawn (rows with ci_low, ci_high, warning)."""
    kinds = sorted({_marker_kind(lo, hi, w) for lo, hi, w in zip(data["ci_low"], data["ci_high"], data["warning"])})
    handles = []
    for kind in kinds:
        if kind == NO_INTERVAL:
            handles.append(Line2D([], [], marker="s", linestyle="", color="black", markersize=4,
                                  label="no interval computed"))
        elif kind == -1:
            handles.append(Line2D([], [], marker="o", linestyle="-", color="black", markersize=4,
                                  label="filled: 5 or more documents"))
        else:
            _, marker, note = _WARN_KINDS[kind]
            handles.append(Line2D([], [], marker=marker, linestyle="-", color="black", markerfacecolor="white",
                                  markersize=4, label=note))
    return handles


def _legend_below(fig: Figure, handles: list, *, ncols: int | None = None, where: str = "lower") -> None:
    """A key outside the axes: below the plot, or above it where a figure-wide x label is below."""
    if handles:
        wide = fig.get_figwidth() >= DOUBLE_COLUMN - 0.5
        ncols = (ncols or min(len(handles), 2)) if wide else min(ncols or 1, len(handles))
        fig.legend(handles=handles, loc=f"outside {where} center", ncols=ncols, handlelength=1.8, columnspacing=1.2)


# --------------------------------------------------------------------------- dot-and-whisker panels


def _panel_grid(n_panels: int, n_rows: int, width: float | None, *, row_height: float = 0.2,
                max_cols: int = 3) -> tuple[Figure, list]:
    width = width or (SINGLE_COLUMN if n_panels == 1 else DOUBLE_COLUMN)
    ncols = min(n_panels, max_cols if width >= DOUBLE_COLUMN else 1)
    nrows = math.ceil(n_panels / ncols)
    height = nrows * (0.45 + row_height * n_rows) + 0.75
    fig = _new_figure(width, height)
    axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False).ravel().tolist()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes[:n_panels]


def _forest(data: pd.DataFrame, *, panel_col: str, panels: list[str], row_col: str, rows: list[str],
            colour_of: Mapping[str, str], x_label: str, titles: Mapping[str, str], width: float | None,
            sharex: bool = False, neutral_band: bool = False, extra_handles: list | None = None,
            row_notes: Mapping[str, str] | None = None) -> Figure:
    """Small multiples: one panel per `panels` value, one labelled row per `rows` value, a dot and
    its interval per cell; an open marker where the estimate carries a warning. `row_notes` adds a
    line under a row's label (e.g. its word count)."""
    labels = {r: _wrap(r) + (f"\n{row_notes[r]}" if row_notes and r in row_notes else "") for r in rows}
    lines = max((label.count("\n") + 1 for label in labels.values()), default=1)
    fig, axes = _panel_grid(len(panels), len(rows), width, row_height=max(0.2, 0.12 * lines + 0.02))
    ypos = {r: len(rows) - 1 - i for i, r in enumerate(rows)}
    for ax, panel in zip(axes, panels):
        part = data[data[panel_col] == panel]
        if neutral_band:
            ax.axvspan(-NEUTRAL, NEUTRAL, color=GRID_GREY, alpha=0.6, linewidth=0, zorder=0)
        ax.axvline(0, color="black", linewidth=0.6, zorder=1)
        for row in part.itertuples(index=False):
            unit = getattr(row, row_col)
            _draw_interval(ax, row.value, row.ci_low, row.ci_high, ypos[unit], colour_of[unit], row.warning)
        for unit in sorted(set(rows) - set(part[row_col])):
            ax.text(0.02, ypos[unit], "no sentences" if neutral_band else "no words", transform=ax.get_yaxis_transform(),
                    va="center", ha="left", fontsize=6, color=TEXT_GREY)
        ax.set_title(titles[panel])
        ax.set_ylim(-0.6, len(rows) - 0.4)
        if not sharex:
            top = np.nanmax(np.r_[part["value"], part["ci_high"], 0.0])
            top = top if top > 0 else 1.0
            ax.set_xlim(-0.04 * top, 1.05 * top)
    if sharex:
        lo = min([data["ci_low"].min(), data["value"].min(), -NEUTRAL * 2])
        hi = max([data["ci_high"].max(), data["value"].max(), NEUTRAL * 2])
        pad = 0.06 * (hi - lo)
        for ax in axes:
            ax.set_xlim(lo - pad, hi + pad)
    axes[0].set_yticks(list(ypos.values()), [labels[r] for r in ypos])
    ncols = axes[0].get_subplotspec().get_gridspec().ncols
    for i, ax in enumerate(axes):  # the lowest panel of each column carries the x label
        if i + ncols >= len(axes):
            ax.set_xlabel(x_label)
    _legend_below(fig, (extra_handles or []) + _marker_handles(data), where="upper")
    return fig


# --------------------------------------------------------------------------- rates


ESTIMATE_REQUIRED = ("unit_type", "unit", "measure", "lexicon", "category", "voice", "section", "value", "ci_low",
                     "ci_high", "ci_method", "ci_unit", "count", "n_words", "n_docs", "warning")


def _estimate_rows(estimates: pd.DataFrame, *, measure: str, unit_type: str, lexicon: str, voice: str | None,
                   section: str) -> pd.DataFrame:
    est = _table(estimates, "estimates", ESTIMATE_REQUIRED)
    where = {"unit_type": unit_type, "measure": measure, "lexicon": lexicon, "section": section}
    if voice is not None:
        where["voice"] = voice
    return _subset(est, "estimates", **where)


def _group_note(groups: Mapping | None, units: list[str], colour_of: Mapping[str, str]) -> list:
    """Legend entries naming the colour keys when rows are coloured by `groups`."""
    if groups is None:
        return []
    seen = {}
    for unit in units:
        seen.setdefault(str(groups[unit]), colour_of[unit])
    return [Patch(color=c, label=g) for g, c in sorted(seen.items())]


@_styled
def rates_plot(estimates: pd.DataFrame, *, unit_type: str = "outlet", lexicon: str = "loaded", categories=None,
               voice: str = "own", section: str = "all", units=None, groups: Mapping | None = None,
               width: float | None = None) -> tuple[Figure, pd.DataFrame]:
    """Rate per 1,000 words with its interval, one panel per category, one row per unit.

    Category "all" is the lexicon total. An open marker flags an estimate whose warning says the
    interval is narrow by design (one document: within-article variation only). Each panel has its
    own x scale from 0 (categories differ tenfold); under each unit, the words the rates divide by.
    `groups` maps each unit to the name whose palette colour it takes (doc_id -> outlet, or outlet
    -> group for more than 8 outlets); the legend then names those colours.
    """
    rows = _estimate_rows(estimates, measure="rate_per_1k", unit_type=unit_type, lexicon=lexicon, voice=voice,
                          section=section)
    if categories is not None:  # "loaded:ideological" (the notebooks' form) or "ideological"
        categories = [categories] if isinstance(categories, str) else list(categories)
        categories = [str(c).removeprefix(f"{lexicon}:") for c in categories]
    categories = _pick(categories, rows["category"], "category", "estimates", first=ALL)
    units = _pick(units, rows["unit"], "unit", "estimates")
    data = rows[rows["category"].isin(categories) & rows["unit"].isin(units) & rows["value"].notna()]
    data = _ordered(data, category=categories, unit=units)
    colour_of = _unit_colours(units, groups)
    titles = {c: f"{lexicon}: " + ("all categories" if c == ALL else _nice(c)) for c in categories}
    words = data.groupby("unit")["n_words"].max()  # one denominator per unit: same voice and section
    fig = _forest(data, panel_col="category", panels=categories, row_col="unit", rows=units, colour_of=colour_of,
                  x_label=f"rate per 1,000 words ({_cell_phrase(voice, section)})", titles=titles, width=width,
                  extra_handles=_group_note(groups, units, colour_of),
                  row_notes={u: f"{int(n):,} words" for u, n in words.items() if np.isfinite(n)})
    return fig, data.reset_index(drop=True)


def _ordered(df: pd.DataFrame, **orders: list[str]) -> pd.DataFrame:
    """Rows sorted by the given columns in the given value orders (stable)."""
    keys = {col: df[col].map({v: i for i, v in enumerate(order)}) for col, order in orders.items()}
    return df.assign(**{f"_k_{c}": k for c, k in keys.items()}).sort_values(
        [f"_k_{c}" for c in keys], kind="stable").drop(columns=[f"_k_{c}" for c in keys])


@_styled
def voice_rates_plot(estimates: pd.DataFrame, *, unit_type: str = "outlet", lexicon: str = "loaded",
                     category: str = "all", section: str = "all", units=None,
                     width: float | None = None) -> tuple[Figure, pd.DataFrame]:
    """The same rate split by voice (own / quoted / reported), three dots per unit.

    Each rate divides by the words of its own voice, so a term inside quotes does not count toward
    the outlet's own framing, and a voice with few words gets a wide interval.
    """
    rows = _estimate_rows(estimates, measure="rate_per_1k", unit_type=unit_type, lexicon=lexicon, voice=None,
                          section=section)
    rows = _subset(rows, "estimates", category=category)
    units = _pick(units, rows["unit"], "unit", "estimates")
    data = rows[rows["voice"].isin(VOICES) & rows["unit"].isin(units) & rows["value"].notna()]
    data = _ordered(data, unit=units, voice=list(VOICES))
    voice_colour = colours(VOICES)
    width = width or SINGLE_COLUMN
    fig = _new_figure(width, 0.9 + 0.42 * len(units) + 0.45)
    ax = fig.subplots()
    offsets = dict(zip(VOICES, (0.25, 0.0, -0.25)))
    for row in data.itertuples(index=False):
        y = len(units) - 1 - units.index(row.unit) + offsets[row.voice]
        _draw_interval(ax, row.value, row.ci_low, row.ci_high, y, voice_colour[row.voice], row.warning, size=12)
    drawn = set(zip(data["unit"], data["voice"]))
    for i, unit in enumerate(units):
        for voice in VOICES:
            if (unit, voice) not in drawn:
                ax.text(0.01, len(units) - 1 - i + offsets[voice], f"no {voice} words", fontsize=5.5,
                        color=TEXT_GREY, va="center", ha="left", transform=ax.get_yaxis_transform())
    ax.set_yticks(range(len(units) - 1, -1, -1), [_wrap(u) for u in units])
    ax.set_ylim(-0.6, len(units) - 0.4)
    top = np.nanmax(np.r_[data["value"], data["ci_high"], 0.0]) or 1.0
    ax.set_xlim(-0.04 * top, 1.05 * top)
    ax.axvline(0, color="black", linewidth=0.6, zorder=1)
    for y in np.arange(0.5, len(units) - 1):
        ax.axhline(y, color=GRID_GREY, linewidth=0.4)
    title_cat = "all categories" if category == ALL else _nice(category)
    ax.set_title(f"{lexicon}: {title_cat}" + ("" if section == ALL else f" ({section})"))
    ax.set_xlabel("rate per 1,000 words of the same voice")
    handles = [Patch(color=voice_colour[v], label=f"{v} voice") for v in VOICES]
    _legend_below(fig, handles, ncols=3, where="upper")
    _legend_below(fig, _marker_handles(data), ncols=1)
    return fig, data.reset_index(drop=True)


# --------------------------------------------------------------------------- differences

DIFFERENCE_REQUIRED = ("group_a", "group_b", "measure", "lexicon", "category", "voice", "section", "difference",
                       "ci_low", "ci_high", "ci_method", "ci_unit", "p_value", "min_p", "n_docs_a", "n_docs_b")
MEASURE_LABELS = {"rate_per_1k": "rate per 1,000 words", "mean_compound": "mean sentence compound (VADER)",
                  "share_negative": "share of negative sentences", "share_positive": "share of positive sentences"}


def p_label(p_value: float, min_p: float) -> str:
    """'p = 0.25 (smallest possible 0.25)': a permutation p-value beside the floor the design allows."""
    return f"p = {_format_p(p_value)} (smallest possible {_format_p(min_p)})"


@_styled
def differences_plot(differences: pd.DataFrame, *, group_a: str, group_b: str, measure: str = "rate_per_1k",
                     lexicon: str | None = None, voice: str = "own", section: str = "all",
                     width: float | None = None) -> tuple[Figure, pd.DataFrame]:
    """Difference group_a - group_b with its interval, one row per (lexicon, category), each
    annotated with its permutation p-value and the smallest p-value the design allows (with one
    document a side, 0.25 or more: no difference can be 'significant')."""
    diff = _table(differences, "differences", DIFFERENCE_REQUIRED)
    rows = _subset(diff, "differences", group_a=group_a, group_b=group_b, measure=measure, voice=voice,
                   section=section)
    if lexicon is not None:
        rows = _subset(rows, "differences", lexicon=lexicon)
    lexicons = _valid(rows["lexicon"])
    order = [(lx, c) for lx in lexicons for c in _pick(None, rows.loc[rows["lexicon"] == lx, "category"], "category",
                                                      "differences", first=ALL)]
    data = rows[rows["difference"].notna()].copy()
    data = _ordered(data.assign(_row=list(zip(data["lexicon"], data["category"]))), _row=order).drop(columns="_row")
    data["annotation"] = [p_label(p, m) for p, m in zip(data["p_value"], data["min_p"])]
    data["warning"] = [_difference_warning(u, a, b) for u, a, b in zip(data["ci_unit"], data["n_docs_a"],
                                                                        data["n_docs_b"])]
    labels = [(_nice(c) if lexicon else f"{lx}: {_nice(c)}") if c != ALL else (f"{lx}: all" if not lexicon else "all")
              for lx, c in order]
    width = width or DOUBLE_COLUMN
    fig = _new_figure(width, 0.95 + 0.2 * len(order))
    ax = fig.subplots()
    colour = colours([group_a, group_b])[group_a]
    ypos = {key: len(order) - 1 - i for i, key in enumerate(order)}
    ax.axvline(0, color="black", linewidth=0.6, zorder=1)
    for row in data.itertuples(index=False):
        _draw_interval(ax, row.difference, row.ci_low, row.ci_high, ypos[(row.lexicon, row.category)], colour,
                       row.warning)
    for key, following in itertools.pairwise(order):
        if key[0] != following[0]:  # a rule between lexicons
            ax.axhline(ypos[key] - 0.5, color=GRID_GREY, linewidth=0.6)
    ax.set_yticks(list(ypos.values()), labels)
    ax.set_ylim(-0.6, len(order) - 0.4)
    notes = dict(zip(zip(data["lexicon"], data["category"]), data["annotation"]))
    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    right.set_yticks(list(ypos.values()), [notes.get(key, "no words in both groups") for key in ypos])
    right.tick_params(axis="y", length=0, labelsize=6.5, labelcolor=TEXT_GREY)
    right.grid(False)
    right.spines[["right", "top"]].set_visible(False)
    unit = MEASURE_LABELS.get(measure, measure)
    ax.set_xlabel(f"difference in {unit} ({_cell_phrase(voice, section)}): {group_a} \u2212 {group_b}")
    if lexicon:
        ax.set_title(f"{lexicon}")
    _legend_below(fig, _marker_handles(data))
    return fig, data.reset_index(drop=True)


def _difference_warning(ci_unit: str, n_docs_a: float, n_docs_b: float) -> str:
    """The estimates' warning wording for a difference whose sides have fewer than 5 documents."""
    if "sentence" in ci_unit:
        return "a group of one document: the interval shows within-article variation only"
    if min(n_docs_a, n_docs_b) < 5:
        return "fewer than 5 documents: the interval shows little of the variation between articles"
    return ""


# --------------------------------------------------------------------------- sentiment


SCORE_REQUIRED = ("doc_id", "sentence_id", "voice", "compound", "section")
DOCUMENT_REQUIRED = ("doc_id", "outlet")


def _documents(documents: pd.DataFrame) -> pd.DataFrame:
    docs = _table(documents, "documents", DOCUMENT_REQUIRED)
    if "duplicate_of" not in docs.columns:
        docs["duplicate_of"] = ""
    return docs


def _drop_copy_bodies(rows: pd.DataFrame, docs: pd.DataFrame, by: str, dedup: str) -> pd.DataFrame:
    """The estimates' drop_copies rule: a copy's body counts for its document, not its outlet or group."""
    _check(dedup, ["drop_copies", "keep"], "dedup", "options")
    if dedup == "keep" or by == "doc_id":
        return rows
    return drop_copy_bodies(rows, docs.assign(exclude_body=docs["duplicate_of"] != ""))


def _unit_of(docs: pd.DataFrame, by: str) -> pd.Series:
    _check(by, [c for c in ("doc_id", "outlet", "outlet_group", "group") if c in docs.columns], "by", "documents")
    return pd.Series(docs[by].astype(str).to_numpy(), index=docs["doc_id"].to_numpy())


def _jitter(n: int, key: str, spread: float = 0.14) -> np.ndarray:
    """Vertical jitter that depends only on the number of points and the unit, never on run order."""
    seed = int.from_bytes(key.encode("utf-8")[:8].ljust(8, b"\0"), "little")
    return np.random.default_rng(seed).uniform(-spread, spread, n)


@_styled
def sentiment_plot(sentence_scores: pd.DataFrame, documents: pd.DataFrame, *, by: str = "outlet",
                   voice: str | None = None, score: str = "compound", dedup: str = "drop_copies",
                   units=None, groups: Mapping | None = None, width: float | None = None) -> tuple[Figure, pd.DataFrame]:
    """Distribution of sentence compound per unit: every sentence a dot, a box for the quartiles
    (from 5 sentences; whiskers 1.5 IQR), and the neutral band (-0.05, 0.05) shaded. `voice` restricts to the sentences whose majority
    voice it is (None: all sentences). A copy's body is left out of its outlet, as in the estimates.
    `units` may name "rest" (as in the differences): every document of no other unit listed."""
    scores = _table(sentence_scores, "sentence_scores", SCORE_REQUIRED + ((score,) if score != "compound" else ()))
    _check(score, ["compound", "compound_masked"], "score", "sentence_scores")
    docs = _documents(documents)
    unit_of = _unit_of(docs, by)
    unknown = sorted(set(scores["doc_id"]) - set(unit_of.index))
    if unknown:
        raise ValueError(f"sentence_scores has doc_id(s) {unknown[:5]} missing from documents")
    if voice is not None:
        scores = _subset(scores, "sentence_scores", voice=voice)
    scores = _drop_copy_bodies(scores, docs, by, dedup)
    scores = scores.assign(unit=scores["doc_id"].map(unit_of))
    if units is not None and by != "doc_id" and REST in list(units) and REST not in set(scores["unit"]):
        others = [u for u in units if u != REST]  # "rest": every document of no other unit asked for
        scores["unit"] = scores["unit"].where(scores["unit"].isin(others), REST)
    units = _pick(units, scores["unit"], by, "sentence_scores")
    data = scores[scores["unit"].isin(units)].sort_values(["doc_id", "sentence_id"], kind="stable")
    data = _ordered(data, unit=units)[["unit", "doc_id", "sentence_id", "section", "voice", score]]
    if groups is None and by == "doc_id":  # a document takes its outlet's colour
        groups = dict(zip(docs["doc_id"], docs["outlet"]))
    colour_of = _unit_colours(units, groups)
    width = width or SINGLE_COLUMN
    fig = _new_figure(width, 0.95 + 0.45 * len(units))
    ax = fig.subplots()
    band = ax.axvspan(-NEUTRAL, NEUTRAL, color=GRID_GREY, alpha=0.6, linewidth=0, zorder=0)
    ax.axvline(0, color="black", linewidth=0.6, zorder=1)
    counts = []
    for i, unit in enumerate(units):
        y = len(units) - 1 - i
        values = data.loc[data["unit"] == unit, score].to_numpy()
        counts.append(len(values))
        if len(values) == 0:
            continue
        if len(values) >= MIN_BOX:
            ax.boxplot(values, positions=[y], orientation="horizontal", widths=0.5, showfliers=False,
                       medianprops={"color": "black", "linewidth": 1.2}, boxprops={"color": "black", "linewidth": 0.7},
                       whiskerprops={"color": "black", "linewidth": 0.7}, capprops={"color": "black", "linewidth": 0.7},
                       manage_ticks=False, zorder=2)
        ax.scatter(values, y + _jitter(len(values), unit), s=7, color=colour_of[unit], alpha=0.7, linewidths=0,
                   zorder=3)
    ax.set_yticks(range(len(units) - 1, -1, -1), [_wrap(u) for u in units])
    ax.set_ylim(-0.6, len(units) - 0.4)
    ax.set_xlim(-1.02, 1.02)
    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    right.set_yticks(range(len(units) - 1, -1, -1), [f"n = {n}" for n in counts])
    right.tick_params(axis="y", length=0, labelsize=6.5, labelcolor=TEXT_GREY)
    right.grid(False)
    right.spines[["right", "top"]].set_visible(False)
    which = "all sentences" if voice is None else f"{voice}-voice sentences"
    ax.set_xlabel(f"sentence {'compound' if score == 'compound' else 'compound (topic words masked)'} "
                  f"(VADER), {which}")
    band.set_label(f"neutral: |compound| < {NEUTRAL}")
    _legend_below(fig, [band] + _group_note(groups, units, colour_of))
    return fig, data.reset_index(drop=True)


@_styled
def sentiment_along_article(sentence_scores: pd.DataFrame, *, doc_id: str, documents: pd.DataFrame | None = None,
                            score: str = "compound", width: float | None = None) -> tuple[Figure, pd.DataFrame]:
    """Compound of each sentence in reading order, coloured (and shaped) by voice, with the non-body
    sections (headline, deck, caption, added lines) shaded and named. With `documents`, the title
    names the outlet."""
    scores = _table(sentence_scores, "sentence_scores", SCORE_REQUIRED)
    _check(score, ["compound", "compound_masked"], "score", "sentence_scores")
    data = _subset(scores, "sentence_scores", doc_id=str(doc_id)).sort_values("sentence_id", kind="stable")
    data = data[["doc_id", "sentence_id", "section", "voice", score]].reset_index(drop=True)
    voice_colour = colours(VOICES)
    fig = _new_figure(width or DOUBLE_COLUMN, 2.7)
    ax = fig.subplots()
    ax.axhspan(-NEUTRAL, NEUTRAL, color=GRID_GREY, alpha=0.6, linewidth=0, zorder=0)
    ax.axhline(0, color="black", linewidth=0.6, zorder=1)
    runs = (data["section"] != data["section"].shift()).cumsum()
    for _, run in data.groupby(runs, sort=True):
        section = run["section"].iloc[0]
        if section == "body":
            continue
        lo, hi = run["sentence_id"].min() - 0.5, run["sentence_id"].max() + 0.5
        ax.axvspan(lo, hi, color="#F2F2F2", linewidth=0, zorder=0)
        for edge in (lo, hi):
            ax.axvline(edge, color=GRID_GREY, linewidth=0.5, zorder=0)
        ax.text((lo + hi) / 2, 0.98, section, rotation=90, ha="center", va="top", fontsize=6, color=TEXT_GREY,
                transform=ax.get_xaxis_transform())
    ax.plot(data["sentence_id"], data[score], color=GRID_GREY, linewidth=0.7, zorder=2)
    for voice, marker in zip(VOICES, ("o", "s", "^")):
        part = data[data["voice"] == voice]
        ax.scatter(part["sentence_id"], part[score], s=13, marker=marker, color=voice_colour[voice],
                   label=f"{voice} voice", linewidths=0, zorder=3)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlim(-1, max(data["sentence_id"].max(), 1) + 1)
    ax.set_xlabel(f"sentence (reading order) in document {doc_id}")
    ax.set_ylabel("compound (VADER)" if score == "compound" else "compound, topic words masked")
    ax.grid(axis="x", visible=False)
    ax.grid(axis="y", visible=True)
    if documents is not None:
        docs = _documents(documents)
        outlet = docs.loc[docs["doc_id"] == str(doc_id), "outlet"]
        ax.set_title(f"{doc_id}: {outlet.iloc[0]}" if len(outlet) else str(doc_id))
    handles = list(ax.get_legend_handles_labels()[0])
    handles.append(Patch(color="#F2F2F2", label="non-body section (named)"))
    handles.append(Patch(color=GRID_GREY, alpha=0.6, label=f"neutral: |compound| < {NEUTRAL}"))
    _legend_below(fig, handles, ncols=5)
    return fig, data


@_styled
def actor_sentiment_plot(estimates: pd.DataFrame, *, unit_type: str = "outlet", measure: str = "mean_compound",
                         voice: str = "own", section: str = "all", actors=None, units=None,
                         groups: Mapping | None = None, width: float | None = None) -> tuple[Figure, pd.DataFrame]:
    """Mean compound of the sentences that name each actor (estimates rows with lexicon "actors"),
    one panel per actor on a common scale, one row per unit; "no sentences" where a unit never
    names the actor in that voice."""
    rows = _estimate_rows(estimates, measure=measure, unit_type=unit_type, lexicon="actors", voice=voice,
                          section=section)
    actors = _pick(actors, rows["category"], "actor", "estimates")
    units = _pick(units, _estimate_rows(estimates, measure=measure, unit_type=unit_type, lexicon="actors",
                                        voice=None, section=section)["unit"], "unit", "estimates")
    data = _ordered(rows[rows["category"].isin(actors) & rows["unit"].isin(units) & rows["value"].notna()],
                    category=actors, unit=units)
    colour_of = _unit_colours(units, groups)
    band = Patch(color=GRID_GREY, alpha=0.6, label=f"neutral: |compound| < {NEUTRAL}")
    fig = _forest(data, panel_col="category", panels=actors, row_col="unit", rows=units, colour_of=colour_of,
                  x_label=f"{MEASURE_LABELS.get(measure, measure)} of sentences naming the actor "
                          f"({_cell_phrase(voice, section)})",
                  titles={a: _nice(a) for a in actors}, width=width, sharex=True, neutral_band=measure == "mean_compound",
                  extra_handles=([band] if measure == "mean_compound" else []) + _group_note(groups, units, colour_of))
    return fig, data.reset_index(drop=True)


# --------------------------------------------------------------------------- distinctive terms

TERM_REQUIRED = ("group_a", "group_b", "voice", "section", "term", "count_a", "count_b", "z", "q_value")


def top_terms(terms: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """The top_n rows by |z|, ties broken by term: the terms the Fightin' Words plot labels."""
    order = terms.assign(_abs=terms["z"].abs()).sort_values(["_abs", "term"], ascending=[False, True], kind="stable")
    return order.head(top_n).drop(columns="_abs")


def _place_labels(fig: Figure, ax, points: list[tuple[float, float, str]], colour_of: list[str]) -> None:
    """Greedy, deterministic label placement: each label (in |z| order) takes the first offset
    around its point whose box overlaps no earlier label, no labelled point and stays in the axes;
    if none fits, the offset with the least overlap. A leader line joins far labels to their point."""
    renderer = fig.canvas.get_renderer()
    fig.draw_without_rendering()
    inside = ax.get_window_extent(renderer)
    anchors = [ax.transData.transform((x, y)) for x, y, _ in points]
    dot = 3.0 * fig.dpi / 72
    placed = [mpl.transforms.Bbox.from_extents(px - dot, py - dot, px + dot, py + dot) for px, py in anchors]
    directions = [(1, 0), (1, 1), (1, -1), (-1, 0), (-1, 1), (-1, -1), (0, 1), (0, -1)]
    for (x, y, text), colour in zip(points, colour_of):
        best = None
        for radius in (5, 12, 20, 30, 42, 56):
            for dx, dy in directions:
                ha = "left" if dx > 0 else "right" if dx < 0 else "center"
                va = "bottom" if dy > 0 else "top" if dy < 0 else "center"
                ann = ax.annotate(text, (x, y), xytext=(dx * radius, dy * radius), textcoords="offset points",
                                  ha=ha, va=va, fontsize=6.5, color="black")
                box = ann.get_window_extent(renderer).padded(1.5)
                ann.remove()
                overlap = sum(_overlap(box, other) for other in placed)
                outside = box.width * box.height - _overlap(box, inside)
                cost = overlap + 4 * outside
                if best is None or cost < best[0]:
                    best = (cost, radius, dx, dy, ha, va, box)
                if cost == 0:
                    break
            if best[0] == 0:
                break
        _, radius, dx, dy, ha, va, box = best
        arrow = {"arrowstyle": "-", "color": colour, "linewidth": 0.5, "shrinkA": 0, "shrinkB": 2} if radius >= 12 else None
        ann = ax.annotate(text, (x, y), xytext=(dx * radius, dy * radius), textcoords="offset points", ha=ha, va=va,
                          fontsize=6.5, color="black", arrowprops=arrow, zorder=5,
                          bbox={"boxstyle": "square,pad=0.05", "facecolor": "white", "edgecolor": "none", "alpha": 0.8})
        ann.set_in_layout(False)
        placed.append(box)


def _overlap(a, b) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


@_styled
def distinctive_terms_plot(distinctive_terms: pd.DataFrame, *, group_a: str, group_b: str, top_n: int = 15,
                           voice: str = "own", section: str = "all",
                           width: float | None = None) -> tuple[Figure, pd.DataFrame]:
    """Monroe, Colaresi & Quinn (2008) "Fightin' Words" plot: each term's z-score of the log-odds
    ratio (informative Dirichlet prior) against its total frequency (log scale); the top_n terms
    by |z| are labelled (ties broken by term), terms at the same point share one label, which says
    how many tied terms at that point top_n left out; dashed lines at z = +-1.96."""
    if not isinstance(top_n, int) or top_n < 0:
        raise ValueError(f"top_n must be a whole number >= 0, not {top_n!r}")
    terms = _table(distinctive_terms, "distinctive_terms", TERM_REQUIRED)
    terms = _subset(terms, "distinctive_terms", group_a=group_a, group_b=group_b, voice=voice, section=section)
    data = terms.assign(total=terms["count_a"] + terms["count_b"])
    data = data[data["total"] > 0].sort_values(["total", "z", "term"], kind="stable")
    # 12 decimals: np.log10's last bit differs between CPUs (its vectorised loops), and the data file
    # must be the same bytes wherever the figure is made
    data["log10_total"] = np.log10(data["total"]).round(12)
    top = top_terms(data, top_n)
    data["labelled"] = data["term"].isin(set(top["term"]))
    data = data[["group_a", "group_b", "voice", "section", "term", "count_a", "count_b", "total", "log10_total", "z",
                 "q_value", "labelled"]].reset_index(drop=True)
    colour = colours([group_a, group_b])
    side = np.where(data["z"] >= 0, colour[group_a], colour[group_b])
    fig = _new_figure(width or DOUBLE_COLUMN, 4.2)
    ax = fig.subplots()
    ax.grid(axis="y")
    for level in (Z_CRITICAL, -Z_CRITICAL):
        ax.axhline(level, color=TEXT_GREY, linewidth=0.6, linestyle=(0, (4, 3)), zorder=1)
    ax.axhline(0, color="black", linewidth=0.5, zorder=1)
    plain = ~data["labelled"].to_numpy()
    ax.scatter(data.loc[plain, "total"], data.loc[plain, "z"], s=6, c=list(side[plain]), alpha=0.35, linewidths=0,
               zorder=2)
    ax.scatter(data.loc[~plain, "total"], data.loc[~plain, "z"], s=14, c=list(side[~plain]), linewidths=0, zorder=4)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    zmax = max(2.6, float(data["z"].abs().max() if len(data) else 0) * 1.12)
    ax.set_ylim(-zmax, zmax)
    ax.set_xlim(0.7, max(10.0, float(data["total"].max() if len(data) else 1)) * 1.6)
    ax.text(1.0, Z_CRITICAL, "z = 1.96 ", transform=ax.get_yaxis_transform(), ha="right", va="bottom", fontsize=6,
            color=TEXT_GREY)
    ax.text(1.0, -Z_CRITICAL, "z = \u22121.96 ", transform=ax.get_yaxis_transform(), ha="right", va="top",
            fontsize=6, color=TEXT_GREY)
    ax.set_xlabel(f"total frequency in {group_a} and {group_b} (log scale)")
    ax.set_ylabel(f"z-score of log-odds ({group_a} vs {group_b})")
    handles = [Line2D([], [], marker="o", linestyle="", color=colour[group_a], label=f"more in {group_a}"),
               Line2D([], [], marker="o", linestyle="", color=colour[group_b], label=f"more in {group_b}")]
    _legend_below(fig, handles)
    at_point = data.groupby(["total", "z"]).size()
    spots = []  # one label per distinct point, ordered by |z|; "+k tied" names terms left out by top_n
    for (total, z), part in data[data["labelled"]].groupby(["total", "z"], sort=False):
        text = ", ".join(sorted(part["term"]))
        tied = int(at_point[(total, z)]) - len(part)
        spots.append((-abs(z), min(part["term"]), total, z, text + (f" (+{tied} tied)" if tied else "")))
    spots.sort()
    _place_labels(fig, ax, [(t, z, _wrap(text, 30)) for _, _, t, z, text in spots],
                  [colour[group_a] if z >= 0 else colour[group_b] for _, _, _, z, _ in spots])
    return fig, data


# --------------------------------------------------------------------------- voice shares, cleaning, headlines

SENTENCE_REQUIRED = ("doc_id", "sentence_id", "section", "n_words", "share_quoted", "share_reported")


@_styled
def voice_share_plot(sentences: pd.DataFrame, documents: pd.DataFrame, *, by: str = "outlet",
                     dedup: str = "drop_copies", units=None, width: float | None = None) -> tuple[Figure, pd.DataFrame]:
    """Share of each unit's words in the outlet's own voice, in quotations and in reported speech
    (stacked bars summing to 100 %), with the word total at the right. A copy's body is left out of
    its outlet (as in the estimates); by="doc_id" shows every document as published."""
    sents = _table(sentences, "sentences", SENTENCE_REQUIRED)
    docs = _documents(documents)
    unit_of = _unit_of(docs, by)
    sents = _drop_copy_bodies(sents, docs, by, dedup)
    quoted = np.rint(sents["n_words"] * sents["share_quoted"])
    reported = np.rint(sents["n_words"] * sents["share_reported"])
    words = pd.DataFrame({"unit": sents["doc_id"].map(unit_of), "own": sents["n_words"] - quoted - reported,
                          "quoted": quoted, "reported": reported})
    units = _pick(units, words["unit"].dropna(), by, "sentences")
    totals = words[words["unit"].isin(units)].groupby("unit").sum().reindex(units)
    data = (totals.reset_index().melt(id_vars="unit", value_vars=list(VOICES), var_name="voice", value_name="words"))
    data["n_words"] = data["unit"].map(totals.sum(axis=1))
    data["share"] = data["words"] / data["n_words"]
    data = _ordered(data, unit=units, voice=list(VOICES)).reset_index(drop=True)
    data.insert(0, "by", by)
    voice_colour = colours(VOICES)
    fig = _new_figure(width or SINGLE_COLUMN, 0.8 + 0.36 * len(units))
    ax = fig.subplots()
    left = np.zeros(len(units))
    ys = np.arange(len(units) - 1, -1, -1)
    for voice in VOICES:
        share = data.loc[data["voice"] == voice, "share"].to_numpy() * 100
        ax.barh(ys, share, left=left, height=0.62, color=voice_colour[voice], label=f"{voice} voice", linewidth=0)
        for y, x0, w in zip(ys, left, share):
            if w >= 9:
                ax.text(x0 + w / 2, y, f"{w:.0f}%", ha="center", va="center", fontsize=6,
                        color=_text_colour(voice_colour[voice]))
        left += share
    ax.set_yticks(ys, [_wrap(u) for u in units])
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of words (%)")
    ax.grid(False)
    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    right.set_yticks(ys, [f"{int(n):,} words" for n in totals.sum(axis=1)])
    right.tick_params(axis="y", length=0, labelsize=6.5, labelcolor=TEXT_GREY)
    right.grid(False)
    right.spines[["right", "top"]].set_visible(False)
    _legend_below(fig, ax.get_legend_handles_labels()[0], ncols=3)
    return fig, data


REPORT_REQUIRED = ("doc_id", "line_no", "rule_id", "action")


@_styled
def cleaning_plot(cleaning_report: pd.DataFrame, documents: pd.DataFrame, *,
                  width: float | None = None) -> tuple[Figure, pd.DataFrame]:
    """Lines each cleaning rule touched, per document: a matrix of rules (grouped by action) by
    documents, the count in each cell. A document with no row was kept line for line."""
    report = _table(cleaning_report, "cleaning_report", REPORT_REQUIRED)
    docs = _documents(documents).sort_values("doc_id", kind="stable")
    unknown = sorted(set(report["doc_id"]) - set(docs["doc_id"]))
    if unknown:
        raise ValueError(f"cleaning_report has doc_id(s) {unknown[:5]} missing from documents")
    actions = list(CLEANING_ACTIONS) + sorted(set(report["action"]) - set(CLEANING_ACTIONS))
    counts = report.groupby(["action", "rule_id", "doc_id"]).size().rename("lines").reset_index()
    counts = counts.merge(docs[["doc_id", "outlet"]], on="doc_id")
    rules = counts[["action", "rule_id"]].drop_duplicates()
    rules = _ordered(rules.sort_values("rule_id", kind="stable"), action=actions)
    data = _ordered(counts.sort_values(["rule_id", "doc_id"], kind="stable"), action=actions)
    data = data[["doc_id", "outlet", "action", "rule_id", "lines"]].reset_index(drop=True)
    action_colour = colours(actions)
    doc_ids = docs["doc_id"].tolist()
    fig = _new_figure(width or DOUBLE_COLUMN, 1.4 + 0.17 * len(rules))
    ax = fig.subplots()
    ax.grid(False)
    ypos = {(a, r): len(rules) - 1 - i for i, (a, r) in enumerate(zip(rules["action"], rules["rule_id"]))}
    xpos = {d: i for i, d in enumerate(doc_ids)}
    for row in data.itertuples(index=False):
        x, y, c = xpos[row.doc_id], ypos[(row.action, row.rule_id)], action_colour[row.action]
        ax.scatter([x], [y], s=95, color=c, linewidths=0, zorder=2)
        ax.text(x, y, f"{row.lines}", ha="center", va="center", fontsize=5.5, color=_text_colour(c), zorder=3)
    previous = None
    for (action, _), y in ypos.items():
        if previous is not None and action != previous:
            ax.axhline(y + 0.5, color=GRID_GREY, linewidth=0.6)
        previous = action
    ax.set_yticks(list(ypos.values()), [r for _, r in ypos])
    ax.set_xticks(range(len(doc_ids)), [f"{d}\n{_wrap(o, 18)}" for d, o in zip(doc_ids, docs["outlet"])])
    ax.xaxis.tick_top()
    ax.tick_params(axis="x", length=0)
    ax.spines[["bottom", "left"]].set_visible(False)
    ax.set_xlim(-0.6, len(doc_ids) - 0.4)
    ax.set_ylim(-0.6, len(rules) - 0.4)
    ax.set_ylabel("cleaning rule")
    present = [a for a in actions if a in set(data["action"])]
    _legend_below(fig, [Line2D([], [], marker="o", linestyle="", color=action_colour[a], label=a) for a in present],
                  ncols=len(present) or 1)
    return fig, data


PRECISION_REQUIRED = ("measure", "lexicon", "category", "n", "n_yes", "precision", "ci_low", "ci_high")


@_styled
def precision_plot(scores: pd.DataFrame, *, width: float | None = None) -> tuple[Figure, pd.DataFrame]:
    """Precision of each lexicon category in a coded sample of matches (`spotcheck.score_sheet`
    rows with measure "precision"), with its Wilson interval and "yes / coded" at the right; a
    category with no coded row is listed as such."""
    table = _table(scores, "scores", PRECISION_REQUIRED)
    rows = _subset(table, "scores", measure="precision").sort_values(["lexicon", "category"], kind="stable")
    data = rows.reset_index(drop=True)
    order = list(zip(data["lexicon"], data["category"]))
    fig = _new_figure(width or SINGLE_COLUMN, 0.95 + 0.2 * len(order))
    ax = fig.subplots()
    ypos = {key: len(order) - 1 - i for i, key in enumerate(order)}
    for row in data.itertuples(index=False):
        if np.isfinite(row.precision):
            _draw_interval(ax, row.precision, row.ci_low, row.ci_high, ypos[(row.lexicon, row.category)], "black", "")
    for key, following in itertools.pairwise(order):
        if key[0] != following[0]:
            ax.axhline(ypos[key] - 0.5, color=GRID_GREY, linewidth=0.6)
    ax.set_yticks(list(ypos.values()), [f"{lx}: {_nice(c)}" for lx, c in order])
    ax.set_ylim(-0.6, len(order) - 0.4)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("precision (share coded yes)")
    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    right.set_yticks(list(ypos.values()), [f"{int(k)}/{int(n)}" if n > 0 else "none coded"
                                           for k, n in zip(data["n_yes"], data["n"])])
    right.tick_params(axis="y", length=0, labelsize=6.5, labelcolor=TEXT_GREY)
    right.grid(False)
    right.spines[["right", "top"]].set_visible(False)
    return fig, data


def headlines_table(documents: pd.DataFrame) -> pd.DataFrame:
    """One row per document: outlet, group, date and headline (for a table in a write-up)."""
    docs = _documents(documents)
    cols = [c for c in ("doc_id", "outlet", "outlet_group", "published", "headline", "n_words", "duplicate_of")
            if c in docs.columns]
    return docs[cols].sort_values("doc_id", kind="stable").reset_index(drop=True)


__all__ = [
    "DOUBLE_COLUMN", "SINGLE_COLUMN", "actor_sentiment_plot", "cleaning_plot", "colours",
    "differences_plot", "distinctive_terms_plot", "headlines_table", "house_style", "p_label", "palette",
    "precision_plot",
    "rates_plot", "sentiment_along_article", "sentiment_plot", "top_terms", "voice_rates_plot", "voice_share_plot",
]
