"""The base of every config section, and the sections of the later pages (06 lifecycle, 07 profiles,
08 targeting); the run's whole schema is :class:`customer_analytics.settings.schema.RunConfig`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Days = Annotated[int, Field(ge=1, le=3660)]  # at most ten years
Probability = Annotated[float, Field(gt=0, lt=1)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class LifecycleSection(_Section):
    active_days: Days
    dormant_days: Days
    lost_days: Days
    gap_factor: Annotated[float, Field(gt=0, le=100, description=(
        "at_risk when the time since the last purchase exceeds this many times the customer's median gap."))]
    no_order_days: Days
    slowing_quantile: Probability
    slowing_min_purchases: Annotated[int, Field(ge=2, le=1000)]
    value_drop_share: Probability
    segment_drop_steps: Annotated[int, Field(ge=1, le=20)]

    @model_validator(mode="after")
    def _windows(self):
        if not self.active_days < self.dormant_days < self.lost_days:
            raise ValueError(f"active_days, dormant_days, lost_days = {self.active_days}, {self.dormant_days}, "
                             f"{self.lost_days}: expected three growing day counts")
        return self


class TargetingSection(_Section):
    features: list[Annotated[str, Field(min_length=1)]]  # table mode: the experiment table's pre-exposure columns
    outcome: Annotated[str, Field(min_length=1)] | None   # binary outcome; null = the experiment's primary metric
    model: Literal["t_learner", "class_transformation"]
    estimator: Literal["logistic", "gradient_boosting"]
    folds: Annotated[int, Field(ge=2, le=20)]
    bootstrap: Annotated[int, Field(ge=20, le=5000)]
    min_users_per_arm: Annotated[int, Field(ge=50, le=1_000_000)]
    value_column: Annotated[str, Field(min_length=1)] | None  # table mode: the "highest value" rule's column
    cost_per_contact: Annotated[float, Field(ge=0, le=1_000_000)] | None
    margin: Annotated[float, Field(gt=0, le=1)] | None
class ProfilesSection(_Section):
    attributes_path: Annotated[str, Field(min_length=1)] | None
    attributes_id_column: Annotated[str, Field(min_length=1)]
    catalog_path: Annotated[str, Field(min_length=1)] | None
    catalog_id_column: Annotated[str, Field(min_length=1)]
    alpha: Probability
    correction: Literal["holm", "fdr_bh"]
    min_level_customers: Annotated[int, Field(ge=1, le=1_000_000)]
    max_levels: Annotated[int, Field(ge=2, le=1000)]
    top_traits: Annotated[int, Field(ge=1, le=10)]
    min_trait_share: Annotated[float, Field(ge=0, lt=1)]
    min_support: Annotated[float, Field(gt=0, le=1, description="Association rules: minimum share of orders holding both products.")]
    min_lift: Annotated[float, Field(ge=0, le=1000, description="Association rules: minimum lift.")]
    top_rules: Annotated[int, Field(ge=1, le=50)]
