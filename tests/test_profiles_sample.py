"""The profiles recover the sample's planted differences; the attribute and catalog files are checked up front."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import ROOT

from customer_analytics.core.errors import InputError
from customer_analytics.io import sample_profiles
from customer_analytics.models import attributes, profiles

SAMPLE = ROOT / "data" / "sample"
TRUTH = json.loads((SAMPLE / "sample_truth.json").read_text(encoding="utf-8"))["profiles"]


@pytest.fixture(scope="module")
def by_type():
    types = pd.Series(TRUTH["customer_type"])
    f = attributes.read_attributes(SAMPLE / "customer_attributes.csv", "customer_id", pd.Series(types.index))
    data = f.data[f.data["customer_id"].isin(types.index)].reset_index(drop=True)
    return f, profiles.profile(data, data["customer_id"].map(types), grouping="type")


def test_the_file_defects_are_counted_and_listed(by_type):
    f, _ = by_type
    assert f.encoding != "utf-8"  # the Latin-1 city column
    assert "Zürich" in set(f.data["city"])
    assert f.counts["unmatched_ids"] == len(TRUTH["unmatched_ids"])
    assert f.counts["duplicate_ids"] == len(TRUTH["duplicated_ids"])
    assert set(f.issues.loc[f.issues["issue"] == "unmatched", "id"]) == set(TRUTH["unmatched_ids"])
    assert set(f.issues.loc[f.issues["issue"] == "duplicate", "id"]) == set(TRUTH["duplicated_ids"])
    assert f.counts["customers_without_row"] == 0  # the float ids (12346.0) are matched after normalisation


def test_each_planted_trait_is_in_its_types_top_traits(by_type):
    _, result = by_type
    traits = profiles.top_traits(result, 3)
    for ctype, planted in TRUTH["planted"].items():
        mine = traits[traits["group"] == ctype]
        assert ((mine["attribute"] == planted["attribute"]) & (mine["level"] == planted["level"])).any(), ctype


def test_no_planted_null_is_flagged(by_type):
    _, result = by_type
    nulls = result.table[result.table["attribute"].isin(TRUTH["planted_nulls"])]
    assert len(nulls) and not nulls["significant"].any()
    assert "signup_date" not in set(result.table["attribute"])  # a date with ~1,400 values: not a category


def test_sample_files_are_seeded_apart_from_the_transactions():
    a1, _ = sample_profiles.customer_attributes(42, pd.Series(["1", "2"] * 60).to_numpy(),
                                                pd.Series(["vip", "one_off"] * 60).to_numpy())
    a2, _ = sample_profiles.customer_attributes(42, pd.Series(["1", "2"] * 60).to_numpy(),
                                                pd.Series(["vip", "one_off"] * 60).to_numpy())
    pd.testing.assert_frame_equal(a1, a2)


def test_bad_attribute_files_name_the_file_and_column(tmp_path):
    bad = tmp_path / "crm.csv"
    bad.write_text("id,tier\n1,gold\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"crm\.csv: no id column 'customer_id'.*columns found: \['id', 'tier'\]"):
        attributes.read_attributes(bad, "customer_id", pd.Series(["1"]))
    with pytest.raises(InputError, match=r"profiles\.attributes_path: file not found: .*nothere\.csv"):
        attributes.read_attributes(tmp_path / "nothere.csv", "customer_id", pd.Series(["1"]))
    cat = tmp_path / "products.csv"
    cat.write_text("StockCode,group\n1,a\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"products\.csv: no column 'category'"):
        attributes.read_catalog(cat, "StockCode")


def test_nothing_lost_duplicates_and_unmatched_are_counted(tmp_path):
    p = tmp_path / "crm.parquet"
    pd.DataFrame({"customer_id": ["1", "1.0", " 2", "9", None], "tier": ["a", "b", "c", "d", "e"]}).to_parquet(p)
    f = attributes.read_attributes(p, "customer_id", pd.Series(["1", "2", "3"]))
    assert f.counts == {"rows": 5, "missing_ids": 1, "duplicate_ids": 1, "duplicate_rows": 1, "unmatched_ids": 1,
                        "matched_ids": 2, "customers_without_row": 1}
    assert f.data.set_index("customer_id").loc["1", "tier"] == "a"  # the first row of a duplicated id
