"""RFM segments in words: segment labels and actions, the summary and export in a language, movements."""

from __future__ import annotations

import pandas as pd

from customer_analytics.core.errors import ConfigError
from customer_analytics.core.paths import read_resource_yaml
from customer_analytics.models import rfm
from customer_analytics.report.i18n import t


def label_table(language: str = "en") -> dict[str, str]:
    """Segment key -> label in ``language`` (en or zh); unknown keys fall back to the key."""
    if language not in ("en", "zh"):
        raise ConfigError(f"language must be 'en' or 'zh', got '{language}'")
    return {k: v[language] for k, v in read_resource_yaml("segments.yaml")["labels"].items()}


def action_table(language: str = "en") -> dict[str, str]:
    """Segment key -> recommended action in ``language``."""
    return {k: v[language] for k, v in read_resource_yaml("segments.yaml")["actions"].items()}


def segment_summary(scored: pd.DataFrame, scheme: str = "en11", language: str = "en") -> pd.DataFrame:
    """:func:`customer_analytics.models.rfm.segment_summary` with the action and the labels in ``language``.

    The index holds the labels in ``language`` and the column ``segment_code`` the
    language-independent key; ``action`` is the last column.
    """
    out = rfm.segment_summary(scored, scheme)
    out["action"] = [action_table(language).get(k, "") for k in out.index]
    out.index = [label_table(language).get(k, k) for k in out.index]
    return out.rename_axis("segment")


def scoring_notes(params: dict, language: str = "en") -> list[str]:
    """The sentences that state the fixed cut-offs a run scores by (``params``: the ``rfm`` config section).

    With ``score_method: recency_bands``, the R bands in days ("R 5 = last purchase within 30 days
    of the period end, R 4 within 60, ..."); with a scheme that has a ``new_only`` rule, the
    new-customer window (``new_customer_days``). Empty when neither applies.
    """
    out = []
    if params["score_method"] == "recency_bands":
        bands, n = [int(b) for b in params["recency_bands"]], int(params["n_levels"])
        parts = [t("nb02.band_first" if i == 0 else "nb02.band_next", language, level=n - i, days=f"{b:,}")
                 for i, b in enumerate(bands)]
        parts.append(t("nb02.band_last", language, level=1))
        out.append(t("nb02.bands", language, bands=t("nb02.band_sep", language).join(parts)))
    if any(r.get("new_only") for r in rfm.load_scheme(params["scheme"]).rules):
        out.append(t("nb02.new_rule", language, new=f"{int(params['new_customer_days']):,}"))
    return out


def top_movements(matrix: pd.DataFrame, language: str = "en", n: int = 5) -> list[str]:
    """The ``n`` largest movements between different segments, one sentence each."""
    labels = label_table(language)
    s = rfm.top_movements(matrix, n)
    return [t("nb02.movement", language, n=f"{v:,}", a=labels.get(a, a), b=labels.get(b, b)) for (a, b), v in s.items()]


def activation_export(scored: pd.DataFrame, period: str, language: str = "en") -> pd.DataFrame:
    """One row per customer, as a marketing tool imports it.

    ``segment_code`` is the stable, language-independent key (``champions``) that a
    downstream tool can key on; ``segment`` and ``action`` are text in ``language``.
    """
    labels, actions = label_table(language), action_table(language)
    out = rfm.activation_export(scored, period)
    at = out.columns.get_loc("period")
    out.insert(at, "segment", scored["segment"].map(lambda k: labels.get(k, k)))
    out.insert(at + 1, "action", scored["segment"].map(lambda k: actions.get(k, "")))
    return out
