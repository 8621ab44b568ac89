"""Both language catalogs have every key, and every key the code uses exists."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

from customer_analytics.report import i18n


def test_no_key_is_missing_in_either_language():
    assert i18n.missing_keys() == {}


def test_every_catalog_key_used_in_code_and_notebooks_exists():
    used = set()
    files = [*(ROOT / "lib").rglob("*.py"), *(ROOT / "notebooks").glob("*.ipynb")]
    for path in files:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"""(?:\bt|\bsay)\(\\?["']([a-z0-9_]+\.[a-z0-9_.]*[a-z0-9])\\?["']""", text))
    assert used, "no catalog keys found in the code"
    missing = sorted(k for k in used if not i18n.has(k, "en") or not i18n.has(k, "zh"))
    assert not missing, f"catalog keys used but not defined: {missing}"


def test_placeholders_agree_between_languages():
    fields = re.compile(r"\{(\w*)\}")
    en, zh = i18n.catalog("en"), i18n.catalog("zh")
    differ = [k for k in en if set(fields.findall(en[k])) != set(fields.findall(zh[k]))]
    assert not differ, f"placeholders differ between en and zh for {differ}"


def test_chinese_text_is_chinese():
    zh = i18n.catalog("zh")
    assert re.search(r"[\u4e00-\u9fff]", i18n.t("nb02.s3", "zh"))
    untranslated = [k for k, v in zh.items() if v and v == i18n.catalog("en")[k] and re.search(r"[a-z]{4}", v)]
    assert not untranslated, f"zh text identical to en: {untranslated}"


def test_lookup_fills_fields_and_rejects_unknown_keys_and_languages():
    assert i18n.t("index.dataset", "en", name="cdnow") == "Data set: cdnow"
    with pytest.raises(KeyError):
        i18n.t("no.such.key")
    with pytest.raises(Exception, match="language"):
        i18n.catalog("fr")


def test_make_report_lang_switches_the_report_language_and_ignores_the_shell_locale():
    import shutil
    import subprocess

    if shutil.which("make") is None:
        pytest.skip("make is not installed")

    def dry(*args):
        r = subprocess.run(["make", "-n", "report", *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                           env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
        return [ln for ln in r.stdout.splitlines() if "customer_analytics report" in ln][-1]

    assert "--language zh" in dry("LANG=zh")
    assert "--language" not in dry()  # the shell's LANG=C.UTF-8 is not a report language
