"""What the report command does with bad config, bad files, a busy period, leftovers and a full disk.

Most tests run the CLI in-process with papermill replaced by a stand-in (it copies
the notebook, or raises), so each checks the runner's own behaviour in a second or
two: every refusal happens before any notebook runs, and nothing is left behind.
"""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import papermill
import pytest
import yaml
from papermill.exceptions import PapermillExecutionError

from customer_analytics.core import paths
from customer_analytics.core.errors import ConfigError
from customer_analytics.pipeline import cli, runner
from customer_analytics.settings import loading, schema

PERIOD = "2025-12"


@pytest.fixture()
def make_config(tmp_path, small_sample_files):
    """Write a run config: the small sample's config with ``changes`` laid over it (None removes a key)."""
    def make(changes: dict | None = None, name: str = "run.yaml") -> Path:
        cfg = yaml.safe_load(small_sample_files["config"].read_text())
        for key, value in (changes or {}).items():
            if isinstance(value, dict) and isinstance(cfg.get(key), dict):
                cfg[key] = {**cfg[key], **value}
            else:
                cfg[key] = value
        path = tmp_path / name
        path.write_text(yaml.safe_dump(cfg))
        return path
    return make


def report(capsys, *args: str) -> tuple[int, str]:
    code = cli.main(["report", "--period", PERIOD, "--quiet", *args])
    return code, capsys.readouterr().err


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------- config errors, before any notebook


BAD_CONFIGS = [
    ({"experiment": {"mode": "transaction"}}, "experiment.mode = 'transaction': expected one of 'transactions'"),
    ({"clustering": {"k": "abc"}}, "clustering.k = 'abc': expected a valid integer"),
    ({"language": "fr"}, "language = 'fr': expected one of 'en' or 'zh'"),
    ({"seed": "abc"}, "seed = 'abc': expected a valid integer"),
    ({"data": None}, "data = an empty value (null): expected a mapping"),
    ({"cleaning": {"rules": {"outliers": {"actoin": "cap"}}}}, "cleaning.rules.outliers.actoin: unknown key. Valid keys"),
    ({"cleaning": {"rules": {"outliers": {"k": "big"}}}}, "cleaning.rules.outliers.k = 'big': expected a valid number"),
    ({"cleaning": {"rules": {"dedupe": {}}}}, "cleaning.rules.dedupe: unknown rule. Valid rules: missing_customer"),
    ({"clustering": {"k_min": 6, "k_max": 4}}, "clustering.k_min = 6: expected at most k_max (4)"),
    ({"experiment": {"primary_metric": "clicks"}}, "experiment.primary_metric = 'clicks'"),
    ({"data": {"decimal": ",", "thousands": ","}}, "data.thousands = ','"),
    ({"report": {"keep_failed": -1}}, "report.keep_failed = -1"),
    ({"rfm": {"scheme": "custom"}}, "rfm.scheme = 'custom': expected en11, zh8 or the path"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_CONFIGS)
def test_config_errors_name_file_key_value_and_expectation_before_any_notebook(
        changes, message, make_config, executed, tmp_path, capsys):
    cfg = make_config(changes)
    reports = tmp_path / "reports"
    code, err = report(capsys, "--config", str(cfg), "--reports-dir", str(reports))
    assert code == 2, err
    assert message in err and "run.yaml" in err
    assert executed == [] and not reports.exists()
    with pytest.raises(ConfigError, match="Invalid configuration"):  # notebooks' make_context gets the same
        loading.load_config(cfg)


def test_input_files_named_by_the_config_are_checked_up_front(make_config, small_sample_files, tmp_path, executed,
                                                            capsys):
    no_exposure = tmp_path / "assign.csv"
    pd.read_csv(small_sample_files["assignments"]).drop(columns="exposure_date").to_csv(no_exposure, index=False)
    rules = tmp_path / "segments.yaml"
    rules.write_text("type: score_grid\n")
    cases = [
        ({"experiment": {"assignment_path": str(tmp_path / "missing.csv")}}, "experiment.assignment_path"),
        ({"experiment": {"assignment_path": str(no_exposure)}}, "lacks required column(s) ['exposure_date']"),
        ({"experiment": {"mode": "table", "table_path": str(small_sample_files["assignments"])}},
         "lacks required column(s) ['converted', 'revenue', 'orders', 'pre_revenue', 'segment']"),
        ({"rfm": {"scheme": str(tmp_path / "nope.yaml")}}, "rfm.scheme"),
        ({"rfm": {"scheme": str(rules)}}, "lacks the key 'rules'"),
    ]
    for changes, message in cases:
        code, err = report(capsys, "--config", str(make_config(changes)), "--reports-dir", str(tmp_path / "r"))
        assert code == 2 and message in err, (changes, err)
    assert executed == [] and not (tmp_path / "r").exists()


def test_masking_without_a_key_is_refused_with_how_to_set_it(make_config, monkeypatch, tmp_path, executed, capsys):
    monkeypatch.delenv("CUSTOMER_ANALYTICS_MASK_KEY", raising=False)
    monkeypatch.delenv("CUSTOMER_ANALYTICS_MASK_KEY_FILE", raising=False)
    code, err = report(capsys, "--config", str(make_config({"mask_ids": True})), "--reports-dir", str(tmp_path / "r"))
    assert code == 2 and "no masking key" in err and "CUSTOMER_ANALYTICS_MASK_KEY" in err
    inside = paths.project_root() / "pyproject.toml"  # a key file inside the project could be committed
    monkeypatch.setenv("CUSTOMER_ANALYTICS_MASK_KEY_FILE", str(inside))
    code, err = report(capsys, "--config", str(make_config({"mask_ids": True})), "--reports-dir", str(tmp_path / "r"))
    assert code == 2 and "inside the project folder" in err
    assert executed == []


def test_shipped_configs_pass_the_schema():
    for p in (paths.project_root() / "config").glob("*.yaml"):
        schema.validate_config(loading.load_config(p), p.name)


# ------------------------------------------------------------ input a user can get wrong


def _semicolon(tmp_path, files):
    p = tmp_path / "semi.csv"
    p.write_text(files["transactions"].read_text(encoding="cp1252").replace(",", ";"), encoding="cp1252")
    return ["--data", str(p)], "data.delimiter"


def _utf16(tmp_path, files):
    p = tmp_path / "wide.csv"
    p.write_text(files["transactions"].read_text(encoding="cp1252"), encoding="utf-16")
    return ["--data", str(p)], "UTF-16"


def _directory(tmp_path, files):
    return ["--data", str(tmp_path)], "is a folder"


def _corrupt_parquet(tmp_path, files):
    p = tmp_path / "t.parquet"
    p.write_bytes(b"PAR1not really parquet")
    return ["--data", str(p)], "not a readable Parquet file"


def _sheet(tmp_path, files):
    p = tmp_path / "book.xlsx"
    with pd.ExcelWriter(p) as xl:
        pd.DataFrame({"Info": ["x"]}).to_excel(xl, sheet_name="Cover", index=False)
        pd.read_csv(files["transactions"], encoding="cp1252", dtype=str).head(50).to_excel(xl, sheet_name="Lines",
                                                                                          index=False)
    return ["--data", str(p)], "set data.sheet: Lines"


def _from_latest(tmp_path, files):
    return ["--from", "latest", "--to", "2025-12"], "'latest' depends on the data"


def _unwritable_reports(tmp_path, files):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    return ["--reports-dir", str(blocker / "reports")], "Cannot write to the reports folder"


@pytest.mark.parametrize("case", [_semicolon, _utf16, _directory, _corrupt_parquet, _sheet, _from_latest,
                                  _unwritable_reports])
def test_bad_input_gives_a_message_and_exit_2_not_a_traceback(case, small_sample_files, tmp_path, executed, capsys):
    args, message = case(tmp_path, small_sample_files)
    if "--reports-dir" not in args:
        args = [*args, "--reports-dir", str(tmp_path / "reports")]
    code, err = report(capsys, "--config", str(small_sample_files["config"]), *args)
    assert code == 2, err
    assert message in err and "Traceback (most recent call last)" not in err
    assert executed == []


def test_unexpected_error_is_one_line_naming_the_step_and_a_log(small_sample_files, tmp_path, executed, monkeypatch,
                                                               capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(runner.publishing, "export_html", broken)
    code, err = report(capsys, "--config", str(small_sample_files["config"]), "--reports-dir", str(tmp_path / "r"))
    assert code == 5
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback (most recent call last)" not in err
    assert "while running notebook 01_data_cleaning: RuntimeError: exporter exploded" in lines[0]
    log = Path(lines[0].rsplit("The traceback is in ", 1)[1])
    assert log.exists() and "Traceback" in log.read_text() and "exporter exploded" in log.read_text()


# ------------------------------------------------------------ lock, leftovers, full disk


def test_second_run_of_the_same_period_is_refused_with_exit_6(small_sample_files, tmp_path, executed, capsys):
    reports = tmp_path / "reports"
    held = runner.PeriodLock()
    held.acquire(reports, PERIOD)
    try:
        code, err = report(capsys, "--config", str(small_sample_files["config"]), "--reports-dir", str(reports))
    finally:
        held.release()
    assert code == 6 and f"Another run is reporting {PERIOD}" in err
    assert executed == []
    code, err = report(capsys, "--config", str(small_sample_files["config"]), "--reports-dir", str(reports))
    assert code == 0, err  # the lock is released with its holder


def test_stale_staging_of_killed_runs_is_removed_and_reported(small_sample_files, tmp_path, executed, capsys):
    reports = tmp_path / "reports"
    stale = [reports / ".staging" / f"{PERIOD}-20250101T000000000000Z", reports / ".staging" / "2025-11-20250101T0Z"]
    for folder in stale:
        folder.mkdir(parents=True)
        (folder / "01_data_cleaning.ipynb").write_text("{}")
    code, err = report(capsys, "--config", str(small_sample_files["config"]), "--reports-dir", str(reports))
    assert code == 0, err
    assert not any(f.exists() for f in stale)
    assert "Removed stale staging folder(s)" in err and stale[0].name in err
    run = json.loads((reports / PERIOD / "run.json").read_text())
    assert sorted(run["removed_stale_staging"]) == sorted(f.name for f in stale)


def test_failed_runs_keep_only_the_newest_n(make_config, tmp_path, monkeypatch, capsys):
    def failing(src, out, **kwargs):
        shutil.copy(src, out)
        raise PapermillExecutionError(3, 3, "x", "ValueError", "broken on purpose", [])

    monkeypatch.setattr(papermill, "execute_notebook", failing)
    reports = tmp_path / "reports"
    old = [reports / "_failed" / f"2025-11-2025010{i}T000000000000Z" for i in (1, 2, 3)]
    for folder in old:
        folder.mkdir(parents=True)
    code, err = report(capsys, "--config", str(make_config({"report": {"keep_failed": 2}})),
                       "--reports-dir", str(reports))
    assert code == 1 and "broken on purpose" in err
    kept = sorted(p.name for p in (reports / "_failed").iterdir())
    assert len(kept) == 2 and kept[0] == old[2].name and kept[1].startswith(f"{PERIOD}-")
    assert runner.prune_failed(reports, 0) == kept and not any((reports / "_failed").iterdir())


def test_full_disk_writes_nothing_more_and_removes_the_runs_files(small_sample_files, tmp_path, executed,
                                                                 monkeypatch, capsys):
    reports = tmp_path / "reports"
    cfg = str(small_sample_files["config"])
    assert report(capsys, "--config", cfg, "--reports-dir", str(reports))[0] == 0
    good = tree(reports / PERIOD)

    def disk_full(src, out, **kwargs):
        Path(out).write_text('{"partial": true}')
        raise OSError(errno.ENOSPC, "No space left on device", str(out))

    monkeypatch.setattr(papermill, "execute_notebook", disk_full)
    code, err = report(capsys, "--config", cfg, "--reports-dir", str(reports), "--force")
    assert code == 2 and "the disk is full" in err and "Traceback (most recent call last)" not in err
    assert tree(reports / PERIOD) == good
    assert not (reports / ".staging").exists() or not any((reports / ".staging").iterdir())
    assert not (reports / "_failed").exists()


def test_decimal_comma_export_runs_with_its_delimiter_and_is_refused_without(small_sample_files, make_config,
                                                                            tmp_path, executed, capsys):
    raw = pd.read_csv(small_sample_files["transactions"], dtype=str, keep_default_na=False, encoding="cp1252")
    eu = tmp_path / "eu.csv"
    raw.assign(UnitPrice=raw["UnitPrice"].str.replace(".", ",", regex=False)).to_csv(eu, sep=";", index=False)
    code, err = report(capsys, "--config", str(small_sample_files["config"]), "--data", str(eu),
                       "--reports-dir", str(tmp_path / "r"))
    assert code == 2 and "data.delimiter" in err and executed == []
    cfg = make_config({"data": {"path": str(eu), "delimiter": ";"}})
    code, err = report(capsys, "--config", str(cfg), "--reports-dir", str(tmp_path / "r"))
    assert code == 0, err
    assert json.loads((tmp_path / "r" / PERIOD / "run.json").read_text())["status"] == "success"


def test_masked_run_error_messages_do_not_quote_customer_ids(small_sample_files, make_config, tmp_path, monkeypatch,
                                                             capsys):
    from customer_analytics.core import privacy

    monkeypatch.setenv(privacy.KEY_ENV, "17776226b4561ff119aee5b9812a6ad6b62e7d74c01b89d8122acfa55be32703")
    ids = pd.read_csv(small_sample_files["transactions"], dtype=str, encoding="cp1252")["CustomerID"].dropna()
    raw_id = ids.str.strip().str.removesuffix(".0").drop_duplicates().iloc[-1]  # a customer of this data set
    message = f"2 assignment rows share a customer id (e.g. {raw_id})."

    def failing(src, out, **kwargs):
        nb = json.loads(Path(src).read_text())
        nb["cells"][2]["outputs"] = [{"output_type": "error", "ename": "InputError", "evalue": message,
                                      "traceback": [f"InputError: {message}"]}]
        Path(out).write_text(json.dumps(nb))
        raise PapermillExecutionError(2, 1, "x", "InputError", message, [])

    monkeypatch.setattr(papermill, "execute_notebook", failing)
    reports = tmp_path / "reports"
    code, err = report(capsys, "--config", str(make_config({"mask_ids": True})), "--reports-dir", str(reports))
    assert code == 1 and "share a customer id" in err
    masked = privacy.mask_ids(pd.Series([raw_id]))[0]
    failed = next((reports / "_failed").iterdir())
    for text in (err, (failed / "01_data_cleaning.ipynb").read_text(), (failed / "run.json").read_text()):
        assert raw_id not in text and masked in text


def test_notebook_parameters_get_the_same_checks_as_the_config():
    from customer_analytics.pipeline import context

    cfg = loading.load_config()
    with pytest.raises(ConfigError, match=r"clustering\.k = 'abc': expected a valid integer"):
        context.params(cfg["clustering"], k="abc")
    with pytest.raises(ConfigError, match=r"cleaning\.rules\.outliers\.x: unknown key"):
        context.params(cfg["cleaning"], rules={"outliers": {"x": 1}})
    assert context.params(cfg["clustering"], k=4)["k"] == 4
