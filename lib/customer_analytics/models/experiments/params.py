"""Parameters: the config section ``experiment`` (or papermill's strings) parsed into analysis options.

List and mapping parameters may come as JSON or YAML strings (``papermill -p``); they are
parsed and checked here, and turned into the keyword options of :func:`analyse` and the ROI
settings.
"""

from __future__ import annotations

import json

import yaml

from customer_analytics.core.errors import ConfigError
from customer_analytics.models.experiments.roi import ROISettings
from customer_analytics.models.experiments.spec import ExperimentSpec

LIST_PARAMS = ("binary_metrics", "continuous_metrics", "segment_columns")
MAPPING_PARAMS = ("planned_split", "cost_per_user")


def parse_list_param(name: str, value) -> list[str]:
    """A list parameter as a list of names; strings holding JSON or YAML lists are parsed.

    Raises
    ------
    ConfigError
        For anything else, showing the expected form.
    """
    if value is None:
        return []
    parsed = value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError:
                parsed = value
    if isinstance(parsed, (list, tuple)) and all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in parsed):
        return [str(x) for x in parsed]
    raise ConfigError(f"Parameter '{name}' must be a list of column names, e.g. {name}: [visit, conversion] in "
                      f"YAML or in the notebook's settings, or the string '[\"visit\", \"conversion\"]'; got {value!r}")


def parse_mapping_param(name: str, value) -> dict | None:
    """A mapping parameter (arm -> number); strings holding JSON or YAML mappings are parsed."""
    if value is None:
        return None
    parsed = value
    if isinstance(value, str):
        try:
            parsed = yaml.safe_load(value)  # JSON is YAML
        except yaml.YAMLError:
            parsed = value
    if isinstance(parsed, dict) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                        for v in parsed.values()):
        return {str(k): float(v) for k, v in parsed.items()}
    raise ConfigError(f"Parameter '{name}' must map arms to numbers, e.g. {name}: {{control: 0.5, offer_a: 0.5}} in "
                      f"YAML, or -p {name} '{{\"control\": 0.5, \"offer_a\": 0.5}}' with papermill; got {value!r}")


def coerce_params(p: dict) -> dict:
    """The experiment parameters with list and mapping parameters parsed (see :func:`parse_list_param`)."""
    out = dict(p)
    for k in LIST_PARAMS:
        if k in out:
            out[k] = parse_list_param(k, out[k])
    for k in MAPPING_PARAMS:
        if k in out:
            out[k] = parse_mapping_param(k, out[k])
    if out.get("user_column") in ("", "null", "None"):
        out["user_column"] = None
    return out


def roi_settings(p: dict, spec: ExperimentSpec) -> ROISettings | None:
    """ROI settings from the experiment parameters; None when no ``cost_per_user`` is given.

    The conversion metric defaults to the primary metric when it is binary (else the first
    binary metric); the revenue metric to the first continuous metric.
    """
    if not p.get("cost_per_user"):
        return None
    prim = p.get("primary_metric")
    conv = p.get("conversion_metric") or (prim if prim in spec.binary_metrics else
                                          (spec.binary_metrics[0] if spec.binary_metrics else None))
    rev = p.get("revenue_metric") or (spec.continuous_metrics[0] if spec.continuous_metrics else None)
    return ROISettings(cost_per_user=p["cost_per_user"], value_per_conversion=p.get("value_per_conversion"),
                       conversion_metric=conv, margin=p.get("margin"), revenue_metric=rev)


def analysis_options(p: dict, spec: ExperimentSpec, seed: int) -> dict:
    """Keyword options for :func:`analyse` from the experiment parameters (config section ``experiment``).

    The keys are the fields of :class:`AnalysisOptions`.
    """
    return {"alpha": p["alpha"], "power": p["power"], "correction": p["correction"],
            "cap_percentile": p["cap_percentile"], "cap_ignore_zeros": p["cap_ignore_zeros"],
            "bootstrap": p["bootstrap"], "target_lift": p["target_lift"], "seed": seed,
            "primary_metric": p["primary_metric"], "higher_is_better": p.get("higher_is_better", True),
            "roi": roi_settings(p, spec), "sequential": bool(p.get("sequential")),
            "sequential_tuning": p.get("sequential_tuning") or 5000}
