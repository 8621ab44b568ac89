"""The environment files agree with each other, and the Makefile offers what the README promises."""

from __future__ import annotations

import re
import subprocess
import tomllib

import yaml
from conftest import ROOT


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req, maxsplit=1)[0].strip().lower()


def _lock() -> dict[str, str]:
    out = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            out[name.strip().lower()] = version.strip()
    return out


def _pyproject_deps() -> set[str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = meta["dependencies"] + meta["optional-dependencies"]["dev"]
    return {_name(d) for d in deps}


def _conda_deps() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for d in env["dependencies"]:
        items = d["pip"] if isinstance(d, dict) else [d]
        for item in items:
            name = _name(item)
            if name not in ("python", "pip"):
                out[name] = item.split("==")[1] if "==" in item else ""
    return out


def test_every_dependency_is_pinned_in_the_lock():
    lock = _lock()
    missing = sorted(d for d in _pyproject_deps() if d not in lock)
    assert not missing, f"not pinned in requirements.lock: {missing} (run make lock)"


def test_environment_yml_lists_the_same_packages_as_pyproject():
    conda = _conda_deps()
    assert set(conda) == _pyproject_deps(), (
        f"only in environment.yml: {sorted(set(conda) - _pyproject_deps())}; "
        f"only in pyproject.toml: {sorted(_pyproject_deps() - set(conda))}"
    )


def test_environment_yml_versions_match_the_lock():
    lock = _lock()
    drift = {n: (v, lock.get(n)) for n, v in _conda_deps().items() if v != lock.get(n)}
    assert not drift, f"environment.yml vs requirements.lock (yml, lock): {drift}"


def test_make_help_lists_every_target():
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    targets = re.findall(r"^([a-zA-Z_-]+):.*##", (ROOT / "Makefile").read_text(), flags=re.M)
    assert {"help", "env", "report", "test", "lab", "clean"} <= set(targets)
    for t in targets:
        assert re.search(rf"^\s+\S*{t}\S*\s", out, flags=re.M), f"make help does not list '{t}'"


def test_ci_runs_make_test_only():
    lines = [ln for ln in (ROOT / ".ci/run").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines[-1].strip() == "make test"


def test_clean_never_touches_raw_data():
    dry = subprocess.run(["make", "-n", "clean"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "data" not in dry.replace("reports/", ""), dry
