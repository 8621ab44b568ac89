"""Every number in the configuration has a range: a typo such as ``clustering.k: 99`` is refused
before any notebook runs, with a message naming the key, the value and the range."""

from __future__ import annotations

import types
import typing

import annotated_types
import pytest
from pydantic import BaseModel

from customer_analytics.core.errors import ConfigError
from customer_analytics.settings import loading, schema

LOWER = (annotated_types.Ge, annotated_types.Gt)
UPPER = (annotated_types.Le, annotated_types.Lt)


def _unbounded(annotation, where: str) -> list[str]:
    """The numeric leaves of a field's type that lack a lower or an upper bound."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        base, meta = args[0], args[1:]
        bounds = [m for item in meta for m in getattr(item, "metadata", [item])]
        if base in (int, float):
            ok = any(isinstance(b, LOWER) for b in bounds) and any(isinstance(b, UPPER) for b in bounds)
            return [] if ok else [where]
        return _unbounded(base, where)
    if annotation in (int, float):
        return [where]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = annotation.model_fields.items()  # pydantic keeps a top-level Annotated's bounds in f.metadata
        return [hit for name, f in fields for hit in _unbounded(
            typing.Annotated[f.annotation, *f.metadata] if f.metadata else f.annotation, f"{where}.{name}")]
    if origin in (typing.Union, types.UnionType) and str in args:
        return []  # a label or a free-form engine setting (str | int), not a quantity
    return [hit for a in args for hit in _unbounded(a, where)]


def test_every_numeric_key_has_a_lower_and_an_upper_bound():
    models = {"config": schema.RunConfig, **{f"cleaning.rules.{k}": m for k, m in schema._rule_models().items()}}
    missing = [hit for where, model in models.items() for hit in _unbounded(model, where)]
    assert missing == [], f"numeric keys without a range: {missing}"


def test_the_check_sees_a_key_without_an_upper_bound():
    class Loose(BaseModel):
        n: typing.Annotated[int, schema.Field(ge=1)] | None

    assert _unbounded(Loose, "x") == ["x.n"]


@pytest.mark.parametrize(("text", "expected"), [
    ("clustering:\n  k: 99\n", r"clustering\.k = 99: expected less than or equal to 20"),
    ("clv:\n  horizon_days: 100000\n", r"clv\.horizon_days = 100000: expected less than or equal to 3660"),
    ("experiment:\n  target_lift: 500.0\n", r"experiment\.target_lift = 500\.0: expected less than or equal to 100"),
])
def test_an_out_of_range_value_is_refused_by_name(tmp_path, text, expected):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        loading.load_config(p)
