"""Uplift modelling for notebook 08: whom to target next time, with which offer.

- :mod:`.features`: pre-exposure features (transactions mode) or ``targeting.features`` (table mode).
- :mod:`.learners`: T-learner and class-transformation models, cross-fitted out of fold.
- :mod:`.metrics`: uplift@k, Qini and uplift curves, Qini coefficient and AUUC (scikit-uplift's definitions).
- :mod:`.policy`: the money policy (recommended arm, profit of the top k%).
- :mod:`.analysis`: :func:`analyse`, the whole page's facts.
- :mod:`.truth`: the check against the sample's planted effects.
"""

from customer_analytics.models.uplift.analysis import (
    Columns,
    TargetingResult,
    analyse,
    arm_sizes,
    customer_columns,
    evaluate,
)
from customer_analytics.models.uplift.features import (
    FeatureSet,
    table_features,
    transaction_features,
)
from customer_analytics.models.uplift.policy import Money, money_settings

__all__ = ["Columns", "FeatureSet", "Money", "TargetingResult", "analyse", "arm_sizes", "customer_columns",
           "evaluate", "money_settings", "table_features", "transaction_features"]
