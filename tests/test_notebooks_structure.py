"""Committed notebooks are narratives: header cell, one parameters cell, no outputs."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
HEADER_PARTS = ["**Purpose.**", "**Inputs.**", "**Outputs**", "**Parameters.**", "**How to run.**"]


def test_the_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == ["01_data_cleaning", "02_rfm_scoring", "03_clustering", "04_ab_evaluation",
                                           "05_clv_churn", "06_lifecycle", "07_profiles",
                                           "08_targeting"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    dirty = [i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_opens_with_a_header_then_one_parameters_cell(path):
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["cell_type"] == "markdown"
    header = "".join(cells[0]["source"])
    missing = [p for p in HEADER_PARTS if p not in header]
    assert not missing, f"{path.name}: header lacks {missing}"
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert tagged == [1], f"{path.name}: the parameters cell must be cell 1 and unique, found {tagged}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_code_cells_are_short(path):
    cells = json.loads(path.read_text())["cells"]
    long = [i for i, c in enumerate(cells[2:], 2)
            if c["cell_type"] == "code" and len("".join(c["source"]).splitlines()) > 15]
    assert not long, f"{path.name}: cells {long} are long; move the logic into lib/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_uses_the_project_kernel(path):
    assert json.loads(path.read_text())["metadata"]["kernelspec"]["name"] == "customer-analytics"
