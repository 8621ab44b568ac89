"""Charts a reader understands: titles, axes in words, legends, no offset exponents, no empty heatmap rows."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from customer_analytics.report import charts  # noqa: E402


@pytest.fixture(autouse=True)
def _style():
    charts.setup_plots("en")
    yield
    plt.close("all")


def _texts(fig):
    fig.canvas.draw()
    out = []
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), ax.yaxis.get_offset_text().get_text(),
                ax.xaxis.get_offset_text().get_text(), *[t.get_text() for t in ax.get_yticklabels()]]
    return out


def test_monthly_chart_has_titles_units_legends_and_no_offset_exponent():
    monthly = pd.DataFrame({"orders": [100, 300], "revenue": [1.2e6, 3.4e6]},
                           index=pd.period_range("2025-01", periods=2, freq="M"))
    fig = charts.plot_monthly(monthly, currency="$")
    texts = _texts(fig)
    assert "Net revenue ($)" in texts and "Orders" in texts and "Month" in texts
    assert all(ax.get_legend() is not None for ax in fig.axes)
    assert all(ax.get_ylim()[0] == 0 for ax in fig.axes)        # both panels start at zero
    assert "3,000,000" in texts and not any("1e6" in t or "e+0" in t for t in texts)


def test_chinese_titles_come_from_the_catalog():
    monthly = pd.DataFrame({"orders": [1, 2], "revenue": [10.0, 20.0]},
                           index=pd.period_range("2025-01", periods=2, freq="M"))
    texts = _texts(charts.plot_monthly(monthly, language="zh", currency="¥"))
    assert "每月净收入与订单数（清洗后数据）" in texts and "净收入（¥）" in texts


def test_heatmaps_drop_all_zero_rows_and_columns():
    m = pd.DataFrame([[5, 0, 1], [0, 0, 0], [2, 0, 3]], index=["a", "b", "c"], columns=["x", "y", "z"])
    assert charts.drop_empty(m).shape == (2, 2)
    fig = charts.plot_matrix(m, "Moves")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "c"]
    assert ax.get_xlabel() == "Segment this period" and ax.get_ylabel() == "Segment last period"


def test_migration_percentages_show_the_same_segments_as_the_counts():
    from customer_analytics.models import rfm

    # one customer of 2,001 moved to "y": 0.05% rounds to 0.0%, yet the column is in the counts
    counts = pd.DataFrame([[2000, 1], [3, 4]], index=["x", "y"], columns=["x", "y"])
    pct = rfm.row_percentages(counts)
    assert pct.loc["x", "y"] == 0.0
    cols = {name: [t.get_text() for t in charts.plot_matrix(m, name, **kw).axes[0].get_xticklabels()]
            for name, m, kw in (("counts", counts, {}), ("pct", pct, {"shape_of": counts, "fmt": ".0f"}))}
    assert cols["counts"] == cols["pct"] == ["x", "y"]
