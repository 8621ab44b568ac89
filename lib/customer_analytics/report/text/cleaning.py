"""Data cleaning in words: which lines a period report sees, and how the numbers were read.

Built from facts recorded while loading (:class:`customer_analytics.io.parsing.NumberFormat`,
the coverage and cleaning statistics) and the language catalogs (keys ``nb01.*``,
``number_reason.*``).
"""

from __future__ import annotations

from customer_analytics.io.parsing import NumberFormat
from customer_analytics.report.i18n import t


def coverage_text(cov: dict, stats: dict, language: str = "en") -> str:
    """The lines a period report covers and the ones it sets aside, in plain words.

    Parameters
    ----------
    cov : dict
        The period's coverage (``data_first``, ``data_last``, ``period_end`` and, for a month
        the data does not reach to its end, ``partial_month``).
    stats : dict
        Cleaning statistics: ``rows_in_file``, ``rows_in_period``, ``rows_after_period`` (lines
        dated after the period end) and ``rows_after_today`` (of those, dated after today).
    language : str
        ``'en'`` or ``'zh'``.
    """
    out = t("nb01.coverage_in", language, rows=f"{stats['rows_in_file']:,}", first=cov["data_first"],
            last=cov["data_last"], covered=f"{stats['rows_in_period']:,}", end=cov["period_end"])
    if stats["rows_after_period"]:
        out += t("nb01.coverage_later", language, later=f"{stats['rows_after_period']:,}")
        if stats["rows_after_today"]:
            out += t("nb01.coverage_future", language, future=f"{stats['rows_after_today']:,}")
    out += t("nb01.coverage_end", language)
    if cov.get("partial_month"):
        out += t("nb01.coverage_partial", language, ends=cov["partial_month"]["data_ends"])
    return out


def number_format_text(fmt: NumberFormat, language: str = "en") -> str:
    """How the number columns were read and why, then one warning per column whose median
    changes tenfold or more under the other convention (see
    :func:`customer_analytics.io.parsing.plausibility_notes`)."""
    why = t(f"number_reason.{fmt.reason}", language, example=f"`{fmt.example}`")
    thousands = f"`{fmt.thousands}`" if fmt.thousands else t("nb01.numbers_none", language)
    lines = [t("nb01.numbers_read", language, decimal=f"`{fmt.decimal}`", thousands=thousands, why=why)]
    lines += [t("nb01.numbers_note", language, source=n["source"], median=f"{n['median']:,.4g}",
                other_decimal=f"`{n['other_decimal']}`", median_other=f"{n['median_other']:,.4g}",
                ratio=f"{n['ratio']:,.0f}") for n in fmt.notes]
    return "\n\n".join(lines)
