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
