"""Project paths and YAML files: where the project is and how its files are read.

Relative paths in configs, ``reports/`` and ``notebooks/`` hang off :func:`project_root`.
:func:`merge_checked` lays a user mapping over defaults and refuses unknown keys.
"""

from __future__ import annotations

import copy
import os
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from customer_analytics.core.errors import ConfigError

#: Config keys whose values are free-form mappings (not checked key by key).
FREE_FORM_KEYS = {"column_mapping", "thresholds", "planned_split", "rules_file", "conf"}


def project_root() -> Path:
    """Return the project root: relative paths in configs, ``reports/`` and ``notebooks/`` hang off it.

    The environment variable ``CUSTOMER_ANALYTICS_ROOT`` names it explicitly (to run the
    template's code on another project folder). Otherwise it is the repository root: the
    package is installed in editable mode from ``lib/``, so the root is two levels above
    this package; failing that, the current directory's nearest parent with a ``pyproject.toml``.
    """
    env = os.environ.get("CUSTOMER_ANALYTICS_ROOT")
    if env:
        return Path(env).expanduser().resolve()
    here = Path(__file__).resolve().parents[3]
    if (here / "pyproject.toml").exists():
        return here
    for parent in [Path.cwd(), *Path.cwd().parents]:
        if (parent / "pyproject.toml").exists():
            return parent
    return Path.cwd()


def resolve_path(path: str | Path | None, base: Path | None = None) -> Path | None:
    """Resolve ``path`` against ``base`` (default: the project root) unless absolute."""
    if path is None or str(path) == "":
        return None
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    return ((base or project_root()) / p).resolve()


def read_resource_yaml(name: str) -> Any:
    """Read a YAML file shipped in ``customer_analytics/resources``."""
    text = resources.files("customer_analytics").joinpath("resources", name).read_text("utf-8")
    return yaml.safe_load(text)


def read_yaml(path: str | Path) -> Any:
    """Read a YAML file, with an error naming the file when it is missing or malformed."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"Config file not found: {p}")
    try:
        return yaml.safe_load(p.read_text("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file {p} is not valid YAML: {exc}") from exc


def merge_checked(base: dict, override: dict, where: str = "config") -> dict:
    """Deep-merge ``override`` into a copy of ``base``, refusing unknown keys.

    Parameters
    ----------
    base : dict
        The defaults; its keys are the only valid ones.
    override : dict
        User values. Nested dicts are merged recursively, except under the
        free-form keys in :data:`FREE_FORM_KEYS`, which replace the default.
    where : str
        Dotted location used in error messages.

    Returns
    -------
    dict
        The merged mapping.

    Raises
    ------
    ConfigError
        If ``override`` has a key that ``base`` lacks; the message lists the valid keys.
    """
    merged = copy.deepcopy(base)
    if override is None:
        return merged
    if not isinstance(override, dict):
        raise ConfigError(f"{where} must be a mapping of keys to values, got {override!r}")
    for key, value in override.items():
        if key not in base:
            valid = ", ".join(sorted(base))
            raise ConfigError(f"Unknown key '{key}' in {where}. Valid keys: {valid}")
        if isinstance(base[key], dict) and isinstance(value, dict) and key not in FREE_FORM_KEYS:
            merged[key] = merge_checked(base[key], value, f"{where}.{key}")
        else:
            merged[key] = copy.deepcopy(value)
    return merged
