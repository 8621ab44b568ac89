"""Report text in English and Chinese: one YAML catalog per language and a ``t()`` lookup.

The catalogs live in ``resources/i18n/<language>.yaml`` and hold every heading,
sentence, chart title, axis label and table header a report shows. Keys are
dotted paths (``nb02.title``, ``col.revenue_share``); values are Python format
strings, filled with :meth:`str.format` keyword arguments. Both catalogs must have
exactly the same keys (``tests/test_i18n.py`` fails otherwise).

Examples
--------
>>> t("chart.revenue", "en")
'Revenue'
>>> t("chart.revenue", "zh")
'收入'
"""

from __future__ import annotations

import functools

from customer_analytics.core.errors import ConfigError
from customer_analytics.core.paths import read_resource_yaml

LANGUAGES = ("en", "zh")


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in tree.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = "" if v is None else str(v)
    return out


@functools.cache
def catalog(language: str = "en") -> dict[str, str]:
    """Every key -> text of one language (a flat mapping of dotted keys).

    Raises
    ------
    ConfigError
        For a language other than ``en`` or ``zh``.
    """
    if language not in LANGUAGES:
        raise ConfigError(f"language must be one of {', '.join(LANGUAGES)}, got '{language}'")
    return _flatten(read_resource_yaml(f"i18n/{language}.yaml") or {})


def t(key: str, language: str = "en", **values) -> str:
    """The text of ``key`` in ``language``, with ``{name}`` fields filled from ``values``.

    Raises
    ------
    KeyError
        If the key is in neither catalog (a typo in the code, caught by the tests).
    """
    text = catalog(language).get(key)
    if text is None:
        text = catalog("en").get(key)
        if text is None:
            raise KeyError(f"No text for '{key}' in resources/i18n/{language}.yaml")
    return text.format(**values) if values else text


def has(key: str, language: str = "en") -> bool:
    """Whether the catalog of ``language`` has ``key``."""
    return key in catalog(language)


def missing_keys() -> dict[str, list[str]]:
    """Keys present in one catalog but not in the other, per language that lacks them."""
    keys = {lang: set(catalog(lang)) for lang in LANGUAGES}
    every = set().union(*keys.values())
    return {lang: sorted(every - k) for lang, k in keys.items() if every - k}


def column_label(name, language: str = "en") -> str:
    """A table header in words: the catalog's ``col.<name>``, else the name with spaces."""
    key = f"col.{name}"
    return t(key, language) if key in catalog(language) else str(name).replace("_", " ")
