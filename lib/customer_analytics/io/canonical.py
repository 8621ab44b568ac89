"""The canonical transaction schema, the presets that map source columns to it, and how a source was read.

The schema itself is described in :mod:`customer_analytics.io.reading`, which also re-exports
every name here. :class:`LoadResult` records how an export was read (a file in pandas or a
source in the engine); :class:`EngineSource` names a source the engine reads in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from customer_analytics.core.errors import ConfigError
from customer_analytics.core.paths import read_resource_yaml
from customer_analytics.io import parsing

#: Loader-internal column: bit 1 = the customer id was a float artefact, bit 2 = it was padded.
#: :func:`customer_analytics.models.cleaning.clean_transactions` turns it into the step-0 audit rows and drops it.
ID_FIX_COLUMN = "_customer_id_fix"
REQUIRED = ("customer_id", "order_id", "order_date", "amount")
OPTIONAL = ("product_id", "quantity", "unit_price", "country", "channel", "description")
CANONICAL = REQUIRED + OPTIONAL


@dataclass
class LoadResult:
    """A loaded export in the canonical schema, with how it was read."""

    data: pd.DataFrame
    path: Path
    encoding: str | None
    preset: str
    mapping: dict[str, str]
    source_columns: list[str]
    date_format: str | None
    id_fixes: dict[str, int] = field(default_factory=dict)
    #: False when the export has no order or line id (the loader made one per customer-day):
    #: identical lines are then separate purchases, not duplicates.
    lines_identifiable: bool = True
    number_format: parsing.NumberFormat = field(default_factory=parsing.NumberFormat)

    def describe(self) -> str:
        """One paragraph on how the file was read, for the notebook."""
        enc = (f"encoding {self.encoding}" if self.encoding else
               "read in the engine" if EngineSource.parse(str(self.path)) else "binary format")
        mapped = ", ".join(f"{src} -> {dst}" for dst, src in self.mapping.items())
        fixes = ", ".join(f"{k}: {v:,}" for k, v in self.id_fixes.items() if v)
        return (
            f"Read {len(self.data):,} rows from {self.path.name} ({enc}, preset '{self.preset}', "
            f"dates '{self.date_format}'). Columns: {mapped}."
            + (f" ID fixes: {fixes}." if fixes else "")
            + f" Numbers: {self.number_format.describe()}."
        )



class EngineSource(str):
    """A source the engine reads in place: ``table:<schema.table>`` or ``parquet:<folder or glob>``.

    It is a string (so it travels as a notebook parameter and into ``run.json``) with the
    kind and location split out.
    """

    KINDS = ("table", "parquet")

    def __new__(cls, value: str):
        kind, _, where = str(value).partition(":")
        if kind not in cls.KINDS or not where:
            raise ConfigError(f"A source in the engine is written 'table:<schema.table>' or 'parquet:<folder or glob>', "
                              f"got {value!r}")
        return super().__new__(cls, f"{kind}:{where}")

    @property
    def kind(self) -> str:
        return self.partition(":")[0]

    @property
    def where(self) -> str:
        return self.partition(":")[2]

    @property
    def name(self) -> str:
        """How reports name the source: the table, or the Parquet folder or glob."""
        return self.where

    @classmethod
    def parse(cls, value) -> EngineSource | None:
        """An :class:`EngineSource` if ``value`` is written as one, else None (a file path)."""
        if isinstance(value, EngineSource):
            return value
        if isinstance(value, str) and value.partition(":")[0] in cls.KINDS:
            return cls(value)
        return None


def configured_source(cfg: dict) -> EngineSource | None:
    """The engine source the config's ``source`` section names (``table`` or ``parquet``), if any."""
    src = cfg.get("source") or {}
    if src.get("table") and src.get("parquet"):
        raise ConfigError("source.table and source.parquet are both set: name one source (the other null).")
    if src.get("table"):
        return EngineSource(f"table:{src['table']}")
    if src.get("parquet"):
        return EngineSource(f"parquet:{src['parquet']}")
    return None



def presets() -> dict:
    """The column-mapping presets shipped in ``resources/presets.yaml``."""
    return read_resource_yaml("presets.yaml")


def preset_spec(preset: str) -> dict:
    """One preset of ``resources/presets.yaml``; an unknown name is refused with the valid ones."""
    all_presets = presets()
    if preset not in all_presets:
        raise ConfigError(f"Unknown preset '{preset}'. Valid presets: {', '.join(sorted(all_presets))}")
    return all_presets[preset]


def missing_required(mapping: dict[str, str], pre: dict) -> list[str]:
    """Required canonical columns the mapping lacks (an order id the preset builds, or an amount
    computed from quantity and unit price, are not missing)."""
    needed = [c for c in REQUIRED if c not in mapping]
    if pre.get("order_id_from") == "customer_day" and "order_id" in needed:
        needed.remove("order_id")
    if "amount" in needed and {"quantity", "unit_price"} <= mapping.keys():
        needed.remove("amount")
    return needed


def missing_detail(needed: list[str], mapping: dict[str, str], pre: dict) -> str:
    """Which source columns the preset looked for, for each missing canonical column.

    A missing amount names the columns it can be computed from: ``amount (or quantity and
    unit_price to compute it; unit_price: none of ['UnitPrice', 'Price'])``.
    """
    looked = pre.get("columns", {})

    def one(col: str) -> str:
        return f"{col}: none of {looked.get(col, [])}" if col not in mapping else f"{col} <- {mapping[col]}"

    parts = []
    for col in needed:
        if col == "amount":
            parts.append(f"amount (none of {looked.get('amount', [])}), or quantity and unit_price to compute it "
                         f"({one('quantity')}; {one('unit_price')})")
        else:
            parts.append(f"{col} (none of {looked.get(col, [])})")
    return "; ".join(parts)


def resolve_mapping(columns: list[str], preset: str, column_mapping: dict | None) -> dict[str, str]:
    """Map canonical names to source columns using a preset plus explicit overrides."""
    mapping: dict[str, str] = {}
    for canon, candidates in preset_spec(preset)["columns"].items():
        found = next((c for c in candidates if c in columns), None)
        if found:
            mapping[canon] = found
    for src, canon in (column_mapping or {}).items():
        if canon not in CANONICAL:
            raise ConfigError(
                f"column_mapping maps '{src}' to unknown column '{canon}'. "
                f"Valid canonical columns: {', '.join(CANONICAL)}"
            )
        mapping = {k: v for k, v in mapping.items() if k != canon}
        mapping[canon] = src
    return mapping
