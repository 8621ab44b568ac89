"""Configuration, period resolution, the sample generator and the CLI's refusals."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT

from customer_analytics.core.errors import ConfigError
from customer_analytics.io.sample import make_sample, write_sample
from customer_analytics.pipeline import context, runner
from customer_analytics.settings import loading


def test_defaults_load_and_user_values_override(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("rfm:\n  scheme: zh8\nclustering:\n  k: 4\n")
    cfg = loading.load_config(p)
    assert cfg["rfm"]["scheme"] == "zh8" and cfg["rfm"]["n_levels"] == 5 and cfg["clustering"]["k"] == 4


def test_unknown_config_key_lists_the_valid_ones(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("rfm:\n  schme: zh8\n")
    with pytest.raises(ConfigError, match=r"Unknown key 'schme' in config file .*\.rfm\. Valid keys: .*scheme"):
        loading.load_config(p)


def test_missing_and_malformed_config_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        loading.load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rfm: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        loading.load_config(bad)


def test_shipped_run_configs_are_valid():
    for p in (ROOT / "config").glob("*.yaml"):
        assert loading.load_config(p)["data"]["path"]


def test_period_resolution():
    today = dt.date(2026, 1, 15)
    assert runner.resolve_period("previous", today=today) == "2025-12"
    assert runner.resolve_period("2025-07", today=today) == "2025-07"
    dates = pd.Series(pd.to_datetime(["2025-10-03", "2025-11-30"]))
    assert runner.resolve_period(None, dates, today) == "2025-11"
    assert runner.resolve_period("latest", dates, today) == "2025-11"
    for bad in ("2025-13", "July", "2025/07"):
        with pytest.raises(ConfigError, match="YYYY-MM"):
            runner.resolve_period(bad, today=today)
    assert runner.month_range("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    with pytest.raises(ConfigError, match="after"):
        runner.month_range("2026-02", "2025-11")


def test_sample_is_identical_for_the_same_seed(tmp_path):
    a = write_sample(make_sample(seed=3, n_customers=200), tmp_path / "a")
    b = write_sample(make_sample(seed=3, n_customers=200), tmp_path / "b")
    c = write_sample(make_sample(seed=4, n_customers=200), tmp_path / "c")
    digest = {k: hashlib.sha256(v.read_bytes()).hexdigest() for k, v in a.items()}
    assert digest == {k: hashlib.sha256(v.read_bytes()).hexdigest() for k, v in b.items()}
    assert digest["transactions"] != hashlib.sha256(c["transactions"].read_bytes()).hexdigest()


def test_bundled_sample_matches_its_recorded_truth():
    import json

    truth = json.loads((ROOT / "data/sample/sample_truth.json").read_text())
    lines = (ROOT / "data/sample/online_shop_export.csv").read_bytes().count(b"\n") - 1
    assert truth["defects"]["total_lines"] == lines and truth["seed"] == 42


def test_cli_backfill_needs_both_ends():
    r = subprocess.run([sys.executable, "-m", "customer_analytics", "report", "--from", "2025-01"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 2 and "--from and --to go together" in r.stderr


def test_cli_bad_period_is_a_clear_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "customer_analytics", "report", "--period", "2025-13",
                        "--reports-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "--period must be YYYY-MM" in r.stderr
    assert not any(tmp_path.iterdir())


def _counting(monkeypatch):
    calls = []
    real = loading.load_config

    def counted(path=None):
        calls.append(path)
        return real(path)

    for module in (loading, runner, context):
        monkeypatch.setattr(module, "load_config", counted)
    return calls


def test_the_runner_loads_the_config_once(tmp_path, monkeypatch, small_sample_files):
    calls = _counting(monkeypatch)
    runner.run_report(period="2025-11", config=str(small_sample_files["config"]), reports_dir=str(tmp_path),
                      check_only=True, progress=False)
    assert len(calls) == 1


def test_notebooks_of_a_run_use_the_runs_config_without_loading_it(tmp_path, monkeypatch):
    cfg = loading.load_config()
    cfg["seed"], cfg["report"]["currency"] = 7, "€"
    (tmp_path / context.RUN_CONFIG).write_text(json.dumps(cfg))
    calls = _counting(monkeypatch)
    ctx = context.make_context("2025-11", run_dir=str(tmp_path))
    assert calls == [] and ctx.seed == 7 and ctx.config["report"]["currency"] == "€"
    assert context.make_context("2025-11", run_dir=str(tmp_path / "alone")).seed == 42 and len(calls) == 1
