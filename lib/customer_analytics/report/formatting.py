"""One table formatter for every report table (HTML only; exported CSVs keep raw values).

:func:`format_table` turns a DataFrame into a pandas ``Styler`` that shows

- counts and other integers as integers with thousands separators (``4,284``, never ``4284.0``);
- money with the currency symbol of the config (``report.currency``) and two decimals;
- shares (fractions of 1) as percentages (``18.7%``);
- differences of two rates as percentage points (``+7.66 pp``);
- p-values as ``<0.001`` or with three significant figures (``0.0123``, ``0.5``), never ``0.0000``;
- other numbers with thousands separators and no scientific notation;
- column headers in words, in the report language (:func:`customer_analytics.report.i18n.column_label`);
- no meaningless row index (a named index becomes the first column), no truncated
  text, and a table wider than the page scrolls inside its own box.

The kind of each column comes from its name (see :func:`infer_kind`) unless given
in ``kinds``.
"""

from __future__ import annotations

import html
import math
import re

import pandas as pd
from pandas.io.formats.style import Styler

from customer_analytics.report.i18n import column_label

KINDS = ("int", "id", "money", "share", "pp", "pvalue", "number", "text", "date")
_ID = re.compile(r"(_id|_row|^step|^period|^year|^id|^k)$")
_PVALUE = re.compile(r"^(p|pvalue|p_value|p_adj|p_adjusted|p_holm|p_fdr|p_raw)$|(^|_)p_?value($|_)")
_SHARE = re.compile(r"(^|_)(share|rate|pct_of_1|conversion)($|_)")
_MONEY = re.compile(r"(^|_)(revenue|monetary|amount|aov|spend|price|value_sum|sales|money)($|_)")
_PP = re.compile(r"(_pp$|^pp_|rate_diff|diff_rate)")


def infer_kind(name, series: pd.Series) -> str:
    """The display kind of a column from its name and values.

    Rules, first match wins: non-numeric -> ``text`` (dates -> ``date``);
    a name like ``*_id``, ``source_row``, ``step``, ``k`` -> ``id`` (a whole number without separators);
    a name like ``p``/``p_value``/``p_adj`` -> ``pvalue``; ``*_pp`` or ``rate_diff``
    -> ``pp``; a name containing ``share``/``rate``/``conversion`` -> ``share``;
    ``revenue``/``monetary``/``amount``/``aov``/``price``/``spend`` -> ``money``;
    integer values (also floats that are all whole, such as 4284.0) -> ``int``;
    else ``number``.
    """
    if pd.api.types.is_bool_dtype(series):
        return "text"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    if not pd.api.types.is_numeric_dtype(series):
        return "text"
    n = str(name).lower()
    if _ID.search(n):
        return "id"
    if _PVALUE.search(n):
        return "pvalue"
    if _PP.search(n):
        return "pp"
    if _SHARE.search(n):
        return "share"
    if _MONEY.search(n):
        return "money"
    vals = series.dropna()
    if pd.api.types.is_integer_dtype(series) or (len(vals) and bool((vals == vals.round()).all())
                                                  and float(vals.abs().max()) < 1e15):
        return "int"
    return "number"


def is_money_name(name) -> bool:
    """Whether a column or metric named ``name`` holds money, by the rule of :func:`infer_kind`.

    A name containing ``revenue``, ``monetary``, ``amount``, ``aov``, ``spend``, ``price``,
    ``value_sum``, ``sales`` or ``money`` (as a word between underscores) is money.
    """
    return bool(_MONEY.search(str(name).lower()))


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT


def fmt_int(v) -> str:
    """``4284.0`` -> ``'4,284'``."""
    return "–" if _missing(v) else f"{int(round(float(v))):,}"


def fmt_id(v) -> str:
    """A number used as an identifier or position, without separators: ``1090.0`` -> ``'1090'``."""
    if _missing(v):
        return "–"
    return str(int(v)) if float(v) == int(float(v)) else str(v)


def fmt_money(v, currency: str = "", *, signed: bool = False) -> str:
    """``1234.5`` -> ``'£1,234.50'``: the sign before the symbol, always two decimals.

    With ``signed`` a gain shows its plus sign (``'+£4.24'``), as an effect or a profit does.
    """
    if _missing(v):
        return "–"
    v = float(v)
    sign = "-" if v < 0 else "+" if signed and v > 0 else ""
    return f"{sign}{currency}{abs(v):,.2f}"


def fmt_share(v, decimals: int = 1) -> str:
    """A fraction of 1 as a percentage: ``0.187388`` -> ``'18.7%'``."""
    return "–" if _missing(v) else f"{float(v) * 100:,.{decimals}f}%"


def fmt_pp(v, decimals: int = 2) -> str:
    """A difference of two rates (fractions of 1) in percentage points: ``0.07659`` -> ``'+7.66 pp'``."""
    return "–" if _missing(v) else f"{float(v) * 100:+,.{decimals}f} pp"


def fmt_pvalue(v) -> str:
    """``<0.001`` below 0.001, else three significant figures without trailing zeros (``0.0123``, ``0.5``, ``1``)."""
    if _missing(v):
        return "–"
    v = float(v)
    if v < 0.001:
        return "<0.001"
    return f"{v:.3g}"


def fmt_number(v, *, signed: bool = False) -> str:
    """Thousands separators; whole values without decimals, else 2 decimals from 1 up, 3 significant below 1.

    Below 0.001 three decimals (``'0.000'``), so a tiny value never turns into scientific notation.

    Never scientific notation. With ``signed`` the value is a difference (an effect): a positive value
    shows its plus sign and a whole value keeps its decimals (``'+1.25'``, ``'+2.00'``, ``'-0.012'``).
    """
    if _missing(v):
        return "–"
    v = float(v)
    sign = "+" if signed else ""
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if v == 0:
        return "0"
    if v == int(v) and not signed:
        return f"{int(v):,}"
    if abs(v) >= 1:
        return f"{v:{sign},.2f}"
    return f"{v:{sign}.3g}" if abs(v) >= 0.001 else f"{v:{sign}.3f}"


def fmt_ratio(v) -> str:
    """A multiple with one decimal, for "2.1× as likely": ``2.134`` -> ``'2.1'``."""
    return "–" if _missing(v) or math.isinf(float(v)) else f"{float(v):,.1f}"


def fmt_change(v) -> str:
    """A relative change (a fraction of 1) as a signed percentage: ``0.5`` -> ``'+50%'``, ``0.0512`` -> ``'+5.1%'``.

    Whole percent from 10% up, one decimal below, so a small lift is not rounded to ``+0%``.
    """
    if _missing(v) or math.isinf(float(v)):
        return "–"
    v = float(v)
    return f"{v * 100:+.0f}%" if abs(v) >= 0.1 else f"{v * 100:+.1f}%"


def fmt_date(v) -> str:
    """A timestamp as ``YYYY-MM-DD`` (with the time only when it is not midnight)."""
    if _missing(v):
        return "–"
    ts = pd.Timestamp(v)
    return str(ts.date()) if ts == ts.normalize() else ts.strftime("%Y-%m-%d %H:%M")


def formatter(kind: str, currency: str = ""):
    """The function that formats one value of ``kind`` (one of :data:`KINDS`)."""
    return {"int": fmt_int, "id": fmt_id, "money": lambda v: fmt_money(v, currency), "share": fmt_share, "pp": fmt_pp,
            "pvalue": fmt_pvalue, "number": fmt_number, "date": fmt_date,
            "text": fmt_text}[kind]


def fmt_text(v) -> str:
    """Text as is; a list or tuple as its items joined by commas (never a Python repr)."""
    if isinstance(v, (list, tuple, set)):
        return ", ".join(map(str, v))
    if isinstance(v, dict):
        return "; ".join(f"{k}: {x}" for k, x in v.items())
    return "–" if _missing(v) else str(v)


def _escaped(fmt):
    return lambda v: html.escape(fmt(v))


TABLE_CSS = [
    # the table scrolls inside its own box when wider than the page; text wraps, never cut
    {"selector": "", "props": "display:block; max-width:100%; overflow-x:auto; border-collapse:collapse;"
                              " font-size:0.92em; margin:0.4em 0 1em 0;"},
    {"selector": "th", "props": "text-align:left; padding:4px 8px; background:#f4f4f4;"
                                " border-bottom:1px solid #ccc; white-space:normal;"},
    {"selector": "td", "props": "padding:4px 8px; border-bottom:1px solid #eee;"},
]


def format_table(df: pd.DataFrame | pd.Series, *, currency: str = "", language: str = "en",
                 kinds: dict | None = None, labels: dict | None = None, caption: str | None = None,
                 keep_index: bool | None = None) -> Styler:
    """A report table: the DataFrame as a formatted pandas ``Styler`` (see the module docstring).

    Parameters
    ----------
    df : DataFrame or Series
        The table with raw values (a Series becomes a one-column table).
    currency : str
        Symbol put before money values, from the config's ``report.currency``.
    language : {'en', 'zh'}
        Language of the column headers (catalog keys ``col.<name>``).
    kinds : dict, optional
        Column -> one of :data:`KINDS`, overriding :func:`infer_kind`.
    labels : dict, optional
        Column -> header text, overriding the catalog.
    caption : str, optional
        Caption above the table.
    keep_index : bool, optional
        Show the index as the first column. Default: only when it is not a plain
        0..n-1 range (a named index such as ``segment`` carries meaning).

    Returns
    -------
    Styler
        Renders in notebooks and in the HTML export; the data themselves are not changed.
    """
    data = df.to_frame() if isinstance(df, pd.Series) else df
    if keep_index is None:
        keep_index = not (isinstance(data.index, pd.RangeIndex) and data.index.name is None)
    if keep_index:
        if data.index.name is None and not any(data.index.names):
            data = data.rename_axis("")
        data = data.reset_index()
    data = data.copy()
    data.columns = [str(c) for c in data.columns]
    kinds = {**{c: infer_kind(c, data[c]) for c in data.columns}, **(kinds or {})}
    unknown = {k: v for k, v in kinds.items() if v not in KINDS}
    if unknown:
        raise ValueError(f"Unknown column kind(s) {unknown}; valid: {', '.join(KINDS)}")
    heads = {c: (labels or {}).get(c, column_label(c, language) if c else "") for c in data.columns}
    styler = data.style.format({c: _escaped(formatter(kinds[c], currency)) for c in data.columns})
    styler = styler.hide(axis="index").format_index(lambda c: heads.get(c, c), axis=1, escape="html")
    numeric = [c for c in data.columns if kinds[c] not in ("text", "date")]
    texts = [c for c in data.columns if c not in numeric]
    styler = styler.set_table_styles(TABLE_CSS).set_properties(
        subset=numeric, **{"text-align": "right", "white-space": "nowrap", "overflow-wrap": "normal"})
    if texts:  # text wraps between words and reads left-aligned
        styler = styler.set_properties(subset=texts, **{"text-align": "left", "min-width": "8em", "max-width": "40em",
                                                        "white-space": "normal", "overflow-wrap": "break-word"})
    if caption:
        styler = styler.set_caption(caption)
    if "$" in currency:  # dollar amounts are text, never an inline formula for MathJax
        styler = styler.set_table_attributes('class="tex2jax_ignore"')
    return styler


def show(df, ctx=None, **kwargs) -> Styler:
    """:func:`format_table` with the currency and language of a run context (for notebooks)."""
    if ctx is not None:
        kwargs.setdefault("currency", ctx.config.get("report", {}).get("currency", ""))
        kwargs.setdefault("language", ctx.language)
    return format_table(df, **kwargs)
