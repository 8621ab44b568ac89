"""The README cannot lie: every config block and every command in it is run here.

Config blocks (```yaml with top-level config sections) are loaded with the real
loader. Commands (`make ...` and `python -m customer_analytics ...`, in code blocks,
in the cron line, in the CI workflow and inline in the text) are run in a temporary
project folder (``CUSTOMER_ANALYTICS_ROOT``) built from the bundled data: report
commands with ``CHECK=1`` / ``--check`` (every check of a real run, the period guard
included, in seconds), others with ``make -n`` where running them would rebuild the
environment or run this very suite. Each command has an expected outcome below; a
command added to the README without one fails the test, so the two cannot drift.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT

from customer_analytics.core import paths
from customer_analytics.models import cleaning
from customer_analytics.pipeline import context
from customer_analytics.settings import loading

README = (ROOT / "README.md").read_text(encoding="utf-8")
CONFIG_SECTIONS = set(paths.read_resource_yaml("defaults.yaml"))

#: command -> (how it is run, expected exit code, text expected in the output)
#: how: "check" = run it with CHECK=1 / --check; "dry" = make -n (would rebuild .venv or rerun the
#: tests); "run" = run as is.
EXPECTED = {
    "make report": ("check", 0, "Check passed for 2025-12"),
    "make test": ("dry", 0, "pytest"),
    "make help": ("run", 0, "report"),
    "make lab": ("dry", 0, "jupyter lab"),
    "make env": ("dry", 0, ""),
    "make sample": ("dry", 0, "make-sample"),
    "make bench": ("dry", 0, "bench_"),
    "make bench-engine": ("dry", 0, "bench_engine.py --sizes 10000000 100000000"),
    "make sample-warehouse": ("run", 0, "sales.transactions: 20,785 lines from online_shop_export.csv"),
    "make report CONFIG=config/warehouse.yaml": ("check", 0, "Check passed for 2025-12"),
    "make mutate": ("dry", 0, "mutmut run"),
    "make clean": ("dry", 0, "rm -rf"),
    "make prose": ("dry", 0, "notebook_prose.py"),
    "make mutate MODULE=models.rfm": ("dry", 0, "mutmut run"),
    "make mutate SAMPLE=600": ("dry", 0, "--sample 600 --seed 0"),
    "make mutate SAMPLE=600 SURVIVORS=1": ("dry", 0, "--names survivors --sample 600"),
    "make mutate SAMPLE=300 SEED=1 SURVIVORS=1": ("dry", 0, "--names survivors --sample 300 --seed 1"),
    "make mutate SAMPLE=300": ("dry", 0, "--sample 300 --seed 0"),
    "make report-cdnow": ("check", 0, "Check passed for 1998-06"),
    "make report CONFIG=config/myshop.yaml CHECK=1": ("run", 0, "Check passed for 2025-12"),
    "make report CONFIG=config/myshop.yaml": ("check", 0, "Check passed for 2025-12"),
    "make report FROM=2025-01 TO=2025-06": ("check", 0, "2025-06: checked"),
    "make report FROM=2025-01 TO=2025-12": ("check", 0, "2025-12: checked"),
    "make report LANG=zh": ("check", 0, "Check passed for 2025-12"),
    "make report SHOW_CODE=1": ("check", 0, "Check passed for 2025-12"),
    "make report-cdnow LANG=zh PERIOD=1998-06 FORCE=1": ("check", 0, "Check passed for 1998-06"),
    "python -m customer_analytics report --language zh": ("check", 0, "Check passed for 2025-12"),
    "python -m customer_analytics report --period previous --config config/myshop.yaml --quiet":
        ("check", 4, "No transactions in"),
    "python -m customer_analytics report --period previous --config config/myshop.yaml":
        ("check", 4, "has the export been refreshed"),
    "python -m customer_analytics report": ("check", 0, "Check passed for 2025-12"),
    "python -m customer_analytics report --config config/experiment_table.yaml":
        ("check", 0, "Would skip 01_data_cleaning: no transaction data"),
    "python -m customer_analytics report --config config/myshop.yaml --period 2025-11":
        ("check", 0, "Check passed for 2025-11"),
}


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^ *```(\w*)\n(.*?)^ *```", text, re.S | re.M)]


def dedent(block: str) -> str:
    lines = block.splitlines()
    pad = min((len(ln) - len(ln.lstrip()) for ln in lines if ln.strip()), default=0)
    return "\n".join(ln[pad:] for ln in lines)


def config_blocks() -> dict[str, dict]:
    """YAML blocks whose top-level keys are config sections, by the file named in their first comment."""
    out = {}
    for lang, body in fenced_blocks(README):
        if lang != "yaml":
            continue
        text = dedent(body)
        data = yaml.safe_load(text)
        if isinstance(data, dict) and set(data) <= CONFIG_SECTIONS:
            name = re.match(r"#\s*(\S+\.yaml)", text)
            assert name, f"a config block must start with '# config/<name>.yaml':\n{text}"
            out[name.group(1)] = data
    return out


CMD = re.compile(r"(?<![\w-])(make [a-z-]+(?: [A-Z_]+=[^\s`]+)*|python -m customer_analytics [a-z-]+(?: [^`\n>#&]*)?)")


def commands() -> list[str]:
    """Commands in inline code spans and in bash, cron and yaml (CI workflow) blocks."""
    places = re.findall(r"`([^`\n]+)`", re.sub(r"^ *```.*?^ *```", "", README, flags=re.S | re.M))
    places += [body for lang, body in fenced_blocks(README) if lang in ("bash", "cron", "yaml")]
    found = set()
    for text in places:
        for m in CMD.finditer(text):
            found.add(" ".join(m.group(1).split()))
    return sorted(found)


@pytest.fixture(scope="module")
def project(tmp_path_factory, sample):
    """A project folder: the bundled data and notebooks, plus the README's own configs and files."""
    root = tmp_path_factory.mktemp("project")
    (root / "data" / "raw").mkdir(parents=True)
    (root / "config").mkdir()
    (root / "notebooks").symlink_to(ROOT / "notebooks")
    (root / "data" / "sample").symlink_to(ROOT / "data" / "sample")
    (root / "data" / "raw" / "cdnow").symlink_to(ROOT / "data" / "raw" / "cdnow")
    (root / "config" / "cdnow.yaml").symlink_to(ROOT / "config" / "cdnow.yaml")
    for name, data in config_blocks().items():
        (root / name).write_text(yaml.safe_dump(data))
        if (ROOT / name).exists():  # a bundled config shown in the README must be the file as shipped
            assert yaml.safe_load((ROOT / name).read_text()) == data, f"README block differs from {name}"
    # the README's own-data example: the sample as a German shop system exports it (';', decimal commas,
    # the customer column called 'Kundennummer')
    export = pd.read_csv(ROOT / "data" / "sample" / "online_shop_export.csv", dtype=str, encoding="cp1252",
                         keep_default_na=False).rename(columns={"CustomerID": "Kundennummer"})
    export["UnitPrice"] = export["UnitPrice"].str.replace(".", ",", regex=False)
    export.to_csv(root / "data" / "raw" / "myshop_2025.csv", index=False, encoding="cp1252", sep=";")
    # the README's warehouse example reads the table `make sample-warehouse` writes
    done = subprocess.run(["make", "--no-print-directory", "sample-warehouse"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "CUSTOMER_ANALYTICS_ROOT": str(root)}, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def run(command: str, how: str, root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CUSTOMER_ANALYTICS_ROOT": str(root)}
    args = command.split()
    if args[0] == "make":
        args = ["make", "--no-print-directory", *args[1:]]
        if how == "dry":
            args.insert(1, "-n")
        elif how == "check":
            args.append("CHECK=1")
        return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    args = [sys.executable, *args[1:]] + (["--check"] if how == "check" else [])
    return subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_every_readme_command_has_an_expected_outcome():
    missing = [c for c in commands() if c not in EXPECTED]
    assert not missing, f"README commands without an expected outcome in this test: {missing}"
    stale = [c for c in EXPECTED if c not in commands()]
    assert not stale, f"commands expected here but no longer in the README: {stale}"


@pytest.mark.parametrize("command", sorted(EXPECTED))
def test_readme_command_does_what_the_text_says(project, command):
    how, code, text = EXPECTED[command]
    r = run(command, how, project)
    out = r.stdout + r.stderr
    if command.startswith("make") and how != "dry":
        assert (r.returncode == 0) == (code == 0), out[-3000:]
        if code:
            assert f"Error {code}" in out, out[-3000:]
    else:
        assert r.returncode == code, out[-3000:]
    assert text in out, out[-3000:]
    assert not list((project / "reports").glob("[0-9]*")), "a check must not publish anything"


def test_readme_config_blocks_are_accepted(project):
    blocks = config_blocks()
    assert "config/myshop.yaml" in blocks
    for name in blocks:
        loading.load_config(project / name)


def test_the_example_configs_cleaning_overrides_change_the_result_as_described(project, monkeypatch):
    monkeypatch.setenv("CUSTOMER_ANALYTICS_ROOT", str(project))
    cfg = loading.load_config(project / "config" / "myshop.yaml")
    loaded = context.load(cfg, project / cfg["data"]["path"])
    assert loaded.mapping["customer_id"] == "Kundennummer"
    mine = cleaning.clean_transactions(loaded.data, cfg["cleaning"]["rules"], "2025-12-31", None,
                                       id_fixes=loaded.id_fixes, lines_identifiable=loaded.lines_identifiable)
    default = cleaning.clean_transactions(loaded.data, None, "2025-12-31", None, id_fixes=loaded.id_fixes,
                                          lines_identifiable=loaded.lines_identifiable)
    out = mine.audit.set_index("rule").loc["outliers"]
    assert out["action"] == "cap" and out["rows_changed"] > 0 and out["revenue_changed"] < 0  # capped
    assert default.audit.set_index("rule").loc["outliers", "action"] == "flag"
    assert mine.data["amount"].max() <= mine.stats["outlier_threshold"] + 0.01 < default.data["amount"].max()
    assert mine.stats["returns_matched"] > 0  # cancellations: {mode: net}


def test_the_documented_exit_codes_are_the_clis():
    from customer_analytics.pipeline import cli

    table = dict(re.findall(r"^\| (\d+) \| ([^|]+) \|$", README, re.M))
    doc = cli.__doc__
    for code in table:
        assert re.search(rf"\b{code} ", doc), f"exit code {code} is in the README but not in the CLI"
    assert {"0", "1", "2", "3", "4", "130"} <= set(table)


def test_the_scheduler_examples_call_the_runner_so_a_stale_month_reaches_it_as_code_4():
    """make exits 2 on any failure; the cron line and the CI workflow must call the runner itself."""
    scheduled = [body for lang, body in fenced_blocks(README) if lang == "cron"]
    scheduled += [body for lang, body in fenced_blocks(README) if lang == "yaml" and "schedule:" in body]
    assert len(scheduled) == 2
    for body in scheduled:
        assert "python -m customer_analytics report --period previous" in body
        assert "make report" not in body, "make would turn the runner's exit code 4 into 2"


def test_every_file_the_readme_names_as_ours_is_shipped():
    """Configs the README runs (``--config``/``CONFIG=``) exist, except the one the reader writes."""
    used = set(re.findall(r"(?:CONFIG=|--config )(config/[\w.-]+\.yaml)", README))
    written_by_the_reader = {"config/myshop.yaml"}  # step 2 of "Your own data" has the reader write it
    assert used - written_by_the_reader, "the README runs no bundled config"
    missing = sorted(p for p in used - written_by_the_reader if not (ROOT / p).exists())
    assert missing == [], f"the README runs configs that are not in the repository: {missing}"
    named = set(re.findall(r"`(\.github/[^`]+)`", README))
    assert not [p for p in named if not (ROOT / p).exists()], named
