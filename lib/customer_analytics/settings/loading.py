"""The run configuration: package defaults, a user file over them, one schema check.

Run configuration lives in YAML. ``load_config`` reads the package defaults
(``resources/defaults.yaml``), deep-merges a user file over them and rejects
unknown keys with the list of valid ones, so a typo never passes silently.

Examples
--------
>>> from customer_analytics.settings.loading import load_config
>>> cfg = load_config()
>>> cfg["seed"]
42
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from customer_analytics.core.errors import ConfigError
from customer_analytics.core.paths import merge_checked, read_resource_yaml, read_yaml, resolve_path
from customer_analytics.settings.schema import _rule_problems, validate_config


def load_config(path: str | Path | None = None) -> dict:
    """Load the run configuration: package defaults overridden by ``path``.

    Parameters
    ----------
    path : str or Path, optional
        A YAML file. Relative paths are resolved against the project root.

    Returns
    -------
    dict
        The complete configuration with every key present.

    Raises
    ------
    ConfigError
        For a missing file, invalid YAML, an unknown key (the message lists valid keys)
        or a value of the wrong type or range (see :mod:`customer_analytics.settings.schema`).
    """
    defaults = read_resource_yaml("defaults.yaml")
    # every key of every cleaning rule can be overridden under cleaning.rules, and only those
    defaults["cleaning"]["rules"] = read_resource_yaml("cleaning_rules.yaml")
    if path is None or str(path) == "":
        return validate_config(defaults, "defaults.yaml")
    user = read_yaml(resolve_path(path))
    check_rules(user, f"config file {path}")
    return validate_config(merge_checked(defaults, user, where=f"config file {path}"), f"config file {path}")


def check_rules(user: Any, where: str) -> None:
    """Check a user file's ``cleaning.rules`` against the rules and keys of ``cleaning_rules.yaml``."""
    section = user.get("cleaning") if isinstance(user, dict) else None
    rules = section.get("rules") if isinstance(section, dict) else None
    problems = _rule_problems(rules, where) if rules is not None else []
    if problems:
        raise ConfigError("Invalid configuration:\n  " + "\n  ".join(problems))
