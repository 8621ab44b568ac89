"""Values from data become inert text in Markdown/HTML; masked ids need a key and cannot be recomputed without it."""

from __future__ import annotations

import hashlib
import hmac
import html

import pandas as pd
import pytest

from customer_analytics.core import privacy
from customer_analytics.core.errors import ConfigError
from customer_analytics.models import experiments
from customer_analytics.report import markup
from customer_analytics.report.text import experiments as ex_text


@pytest.mark.parametrize("payload", ["<script>alert(1)</script>", "<img src=x onerror=alert(7)>",
                                     "[click](javascript:alert(1))", "**bold** `code` | cell", "&lt;already&gt;"])
def test_escaped_values_render_as_written_and_never_as_markup(payload):
    # what the HTML export renders Markdown with
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    out = markup.esc(payload)
    assert "<" not in out and ">" not in out and "[" not in out and "`" not in out and "*" not in out
    rendered = markdown2html_mistune(f"Label: {out}")
    assert "<a " not in rendered and "<script" not in rendered and "<img" not in rendered and "<strong" not in rendered
    assert html.unescape(rendered.strip().removeprefix("<p>Label: ").removesuffix("</p>")) == payload


def test_decision_text_escapes_arm_and_segment_labels():
    rng = pd.Series(range(400))
    df = pd.DataFrame({"user": rng.astype(str), "variant": (rng % 2).map({0: "control", 1: "<img src=x onerror=alert(1)>"}),
                       "converted": (rng % 3 == 0).astype(float)})
    spec = experiments.ExperimentSpec(variant_column="variant", control_label="control", user_column="user",
                                      binary_metrics=["converted"], continuous_metrics=[], covariate=None,
                                      segment_columns=[], planned_split=None)
    text = ex_text.decision_summary(experiments.analyse(df, spec), "converted")
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def test_masking_needs_a_key_and_uses_hmac(monkeypatch, tmp_path):
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    monkeypatch.delenv(privacy.KEY_FILE_ENV, raising=False)
    with pytest.raises(ConfigError, match="no masking key.*CUSTOMER_ANALYTICS_MASK_KEY"):
        privacy.mask_ids(pd.Series(["12346"]))
    monkeypatch.setenv(privacy.KEY_ENV, "short")
    with pytest.raises(ConfigError, match="at least 16"):
        privacy.mask_key()
    key_file = tmp_path / "mask.key"
    key_file.write_text("dfa12b9721380c04c884204494773ac43fe5141bafe462f72bcd73172539825d\n")
    monkeypatch.delenv(privacy.KEY_ENV)
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(key_file))
    masked = privacy.mask_ids(pd.Series(["12346", None]))
    expected = hmac.new(b"dfa12b9721380c04c884204494773ac43fe5141bafe462f72bcd73172539825d", b"12346", hashlib.sha256).hexdigest()[:16]
    assert masked[0] == expected and pd.isna(masked[1])
    # enumerating candidate ids with a salted or unkeyed hash finds nothing
    unkeyed = {hashlib.sha256(f"customer-analytics:{i}".encode()).hexdigest()[:16] for i in range(12000, 13000)}
    assert masked[0] not in unkeyed
    frame = privacy.masked(pd.DataFrame({"customer_id": ["12346"], "amount": [5.0]}), on=True)
    assert frame["customer_id"].iloc[0] == expected and frame["amount"].iloc[0] == 5.0
