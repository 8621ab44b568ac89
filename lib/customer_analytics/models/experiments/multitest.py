"""Multiple comparisons: the correction option and p-values adjusted across a family of comparisons.

Holm (the default), Benjamini-Hochberg (``fdr_bh``), Bonferroni or none, by statsmodels'
``multipletests``; which families are adjusted together is said in the docstring of
:mod:`customer_analytics.models.experiments`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from customer_analytics.core.errors import ConfigError

CORRECTIONS = ("holm", "fdr_bh", "bonferroni", "none")


def adjust_pvalues(p: pd.Series | np.ndarray, correction: str | None, alpha: float = 0.05) -> np.ndarray:
    """P-values adjusted for multiple comparisons: holm, fdr_bh, bonferroni or none.

    Missing p-values (skipped comparisons) stay missing and do not count in the family.
    """
    method = check_correction(correction)
    arr = np.asarray(p, dtype=float)
    out = np.full(arr.shape, np.nan)
    ok = ~np.isnan(arr)
    if not ok.any():
        return out
    out[ok] = arr[ok] if method == "none" else multipletests(arr[ok], alpha=alpha, method=method)[1]
    return out


def check_correction(correction: str | None) -> str:
    """Normalise the ``correction`` option (None or False means 'none')."""
    if correction in (None, False, "none", "None", ""):
        return "none"
    if correction not in CORRECTIONS:
        raise ConfigError(f"correction must be one of {', '.join(CORRECTIONS)}, got '{correction}'")
    return str(correction)
