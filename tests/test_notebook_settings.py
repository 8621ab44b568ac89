"""Each notebook receives one parameters object, ``settings``, laid out like a config file.

The parameters cell declares the shared run parameters and ``settings``; its sections and keys
are exactly those of the config sections the notebook reads, so a new config key cannot be
forgotten in the notebook, and no notebook reads its parameters from ``globals()``.
"""

from __future__ import annotations

import ast
import json

import pytest
from conftest import ROOT

from customer_analytics.core.errors import ConfigError
from customer_analytics.pipeline import context
from customer_analytics.settings import loading

NOTEBOOKS = {"01_data_cleaning": ["data", "cleaning"], "02_rfm_scoring": ["rfm"], "03_clustering": ["clustering"],
             "04_ab_evaluation": ["experiment"], "05_clv_churn": ["clv"],
             "06_lifecycle": ["lifecycle"], "07_profiles": ["profiles"], "08_targeting": ["targeting"]}
SHARED = ["period_end", "data_path", "config_path", "run_dir", "seed", "language", "mask_ids"]
CONFIG = loading.load_config()


def _cells(name):
    return json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_the_parameters_cell_holds_the_shared_parameters_and_one_settings_object(name):
    (cell,) = [c for c in _cells(name) if "parameters" in c["metadata"].get("tags", [])]
    tree = ast.parse("".join(cell["source"]))
    names = [t.id for node in tree.body for t in node.targets]
    assert names == [*SHARED, "settings"]
    settings = eval(compile(ast.Expression(tree.body[-1].value), name, "eval"), {"__builtins__": {}, "dict": dict})
    assert list(settings) == NOTEBOOKS[name]
    for section, keys in settings.items():
        expected = [k for k in CONFIG[section] if (section, k) != ("data", "path")]
        assert sorted(keys) == sorted(expected), section
        assert all(v is None for v in keys.values())


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_no_notebook_reads_its_parameters_from_globals(name):
    assert not any("globals()" in "".join(c["source"]) for c in _cells(name))


def test_settings_are_laid_over_the_config_and_checked(tmp_path):
    ctx = context.make_context("2025-11", run_dir=str(tmp_path))
    assert context.section(ctx, {"rfm": {"scheme": "zh8", "n_levels": None}}, "rfm")["scheme"] == "zh8"
    assert context.section(ctx, None, "rfm") == context.params(ctx.config["rfm"])
    with pytest.raises(ConfigError, match=r"settings: unknown section\(s\) \['rmf'\]"):
        context.section(ctx, {"rmf": {"scheme": "zh8"}}, "rfm")
    with pytest.raises(ConfigError, match=r"Unknown parameter\(s\) \['schme'\]"):
        context.section(ctx, {"rfm": {"schme": "zh8"}}, "rfm")
    with pytest.raises(ConfigError, match=r"settings\.rfm = 'zh8': expected a mapping"):
        context.section(ctx, {"rfm": "zh8"}, "rfm")
