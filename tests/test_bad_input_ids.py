"""Bad input, round 3: ids that silently emptied a report, dates and joins, late config errors.

Each case runs the ``report`` command in-process on a small hand-made file with papermill
replaced by a stand-in (see ``tests/test_run_guards.py``), so it stops at the input check:
the exit code, the message naming the file, column, key or line and what was expected, and
nothing published for a refusal. Where the input is repaired, not refused, the same files
are loaded and cleaned with the run's config and the audit is checked.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd
import papermill
import pytest
import yaml

from customer_analytics.io import engine_sources, ids
from customer_analytics.models import cleaning
from customer_analytics.pipeline import cli, context, input_checks
from customer_analytics.settings import loading

PERIOD = "2025-12"
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
DAYS = ("15/10/2025 10:00", "20/11/2025 11:30", "14/12/2025 09:15")


def shop_lines(customer_ids: list[str]) -> list[str]:
    """Three lines per customer (October to December 2025), one invoice per line."""
    out = []
    for i, cid in enumerate(customer_ids):
        for j, day in enumerate(DAYS):
            out.append(f"{536000 + 3 * i + j},85123A,MUG,{j + 1},{day},2.50,{cid},United Kingdom")
    return out


def write_case(tmp_path: Path, lines: list[str], *, assignments: str | None = None, changes: dict | None = None,
               tail: str = "\n") -> Path:
    """The shop export, an assignment table (or none: experiment off) and a run config; the config path."""
    data = tmp_path / "shop.csv"
    data.write_text("\n".join([HEADER, *lines]) + tail, encoding="utf-8")
    cfg: dict = {"data": {"path": str(data), "preset": "online_retail"},
                 "clustering": {"k_min": 2, "k_max": 3}, "clv": {"min_customers": 10},
                 "experiment": {"mode": "none"}}
    if assignments is not None:
        (tmp_path / "assign.csv").write_text(assignments, encoding="utf-8")
        cfg["experiment"] = {"mode": "transactions", "assignment_path": str(tmp_path / "assign.csv")}
    for key, value in (changes or {}).items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def report(capsys, config: Path, reports: Path) -> tuple[int, str]:
    code = cli.main(["report", "--period", PERIOD, "--quiet", "--config", str(config), "--reports-dir", str(reports)])
    return code, capsys.readouterr().err


def refused(capsys, executed, config: Path, tmp_path: Path) -> str:
    """Run the report; it must stop with exit 2 before any notebook, publishing nothing. The message."""
    reports = tmp_path / "reports"
    t0 = time.time()
    code, err = report(capsys, config, reports)
    assert code == 2, err
    assert executed == [] and not (reports / PERIOD).exists()
    assert time.time() - t0 < 5, "a refusal must come before any notebook, in seconds"
    return err


def audit_of(config: Path) -> pd.DataFrame:
    cfg = loading.load_config(config)
    loaded = context.load(cfg)
    return cleaning.clean_transactions(loaded.data, period_end="2025-12-31", id_fixes=loaded.id_fixes).audit


REAL = [str(12346 + i) for i in range(20)]


# ------------------------------------------------------------------ 1. placeholder ids


@pytest.mark.parametrize("placeholder", ["NaN", "NULL", "None", "-", "n/a"])
def test_placeholder_ids_mean_no_customer_and_are_counted_in_the_audit(placeholder, tmp_path, executed, capsys):
    cfg = write_case(tmp_path, shop_lines([*REAL, placeholder, placeholder]))
    code, err = report(capsys, cfg, tmp_path / "reports")
    assert code == 0, err
    loaded = context.load(loading.load_config(cfg))
    assert loaded.data["customer_id"].isna().sum() == 6  # no customer called "NaN"
    assert placeholder not in set(loaded.data["customer_id"].dropna())
    audit = audit_of(cfg).set_index("rule")
    assert audit.loc["customer ids: placeholders", "rows_changed"] == 6
    assert audit.loc["missing_customer", "rows_removed"] == 6


def test_a_configured_placeholder_is_no_customer_too(tmp_path, executed, capsys):
    cfg = write_case(tmp_path, shop_lines([*REAL, "unknown", "0"]), changes={"data": {"id_placeholders": ["UNKNOWN", "0"]}})
    loaded = context.load(loading.load_config(cfg))
    assert loaded.data["customer_id"].isna().sum() == 6 and loaded.id_fixes["customer_id_placeholders"] == 6


# ------------------------------------------------------------------ 2. scientific notation


def test_exact_scientific_notation_is_repaired_as_the_integer_id(tmp_path, executed, capsys):
    sci = [f"{int(i) / 10_000:.4f}E+04" for i in REAL]  # 12346 -> 1.2346E+04
    cfg = write_case(tmp_path, shop_lines(sci))
    code, err = report(capsys, cfg, tmp_path / "reports")
    assert code == 0, err
    loaded = context.load(loading.load_config(cfg))
    assert sorted(loaded.data["customer_id"].unique()) == REAL
    assert audit_of(cfg).set_index("rule").loc["customer ids: scientific notation", "rows_changed"] == 60


def test_rounded_scientific_notation_is_refused_with_the_rows(tmp_path, executed, capsys):
    cfg = write_case(tmp_path, shop_lines([*REAL, "1.23E+07"]))
    err = refused(capsys, executed, cfg, tmp_path)
    assert "shop.csv: Column 'CustomerID': 3 id(s) are numbers in scientific notation" in err
    assert "'1.23E+07' (row 62)" in err


def test_the_engine_normaliser_agrees_with_the_pandas_one():
    import ibis

    values = [" 12346.0", "12347", "", "NULL", "nan", "None", "-", "1.2346E+04", "1.23460e4", "x1", "A.0", "4E12"]
    got, fixes = ids.normalise_ids(pd.Series(values[:-1] + ["7"]))
    t = ibis.memtable({"c": values[:-1] + ["7"]})
    out, float_art, padded = engine_sources.normalise_ids_expr(t.c)
    eng = t.select(o=out, f=float_art, p=padded).execute()
    assert [None if pd.isna(v) else v for v in eng["o"]] == [None if pd.isna(v) else v for v in got]
    assert int(eng["f"].sum()) == fixes["float_artefacts"] and int(eng["p"].sum()) == fixes["padded"]


# ------------------------------------------------------------------ 3. assignment ids and joins


def assignments(customer_ids: list[str], dates: str = "2025-11-04") -> str:
    arms = ["control", "offer_a"]
    return "customer_id,variant,exposure_date\n" + "".join(
        f"{c},{arms[i % 2]},{dates}\n" for i, c in enumerate(customer_ids))


def test_float_form_assignment_ids_are_repaired_like_the_transactions(tmp_path, executed, capsys):
    cfg = write_case(tmp_path, shop_lines(REAL), assignments=assignments([f"{c}.0" for c in REAL]))
    code, err = report(capsys, cfg, tmp_path / "reports")
    assert code == 0, err
    a = input_checks.read_assignments(loading.load_config(cfg))
    assert sorted(a.table["customer_id"]) == REAL


def test_prefixed_assignment_ids_that_match_no_customer_stop_the_run(tmp_path, executed, capsys):
    cfg = write_case(tmp_path, shop_lines(REAL), assignments=assignments([f"C{c}" for c in REAL]))
    err = refused(capsys, executed, cfg, tmp_path)
    assert "assign.csv" in err and "only 0 of 20 assigned customer ids (0%)" in err
    assert "experiment.min_match_share is 90%" in err
    assert "'C12346'" in err and "'12346'" in err  # examples from both sides


def test_the_match_share_is_configurable(tmp_path, executed, capsys):
    half = [f"C{c}" if i % 2 else c for i, c in enumerate(REAL)]
    cfg = write_case(tmp_path, shop_lines(REAL), assignments=assignments(half),
                     changes={"experiment": {"min_match_share": 0.4}})
    code, err = report(capsys, cfg, tmp_path / "reports")
    assert code == 0, err


def test_duplicate_assignment_ids_are_found_up_front(tmp_path, executed, capsys):
    cfg = write_case(tmp_path, shop_lines(REAL), assignments=assignments([*REAL, REAL[3]]))
    err = refused(capsys, executed, cfg, tmp_path)
    assert "assign.csv" in err and "assigned more than once: 12349 (lines 5/22)" in err


# ------------------------------------------------------------------ 4. exposure dates


def test_ambiguous_exposure_dates_are_refused_like_transaction_dates(tmp_path, executed, capsys):
    cfg = write_case(tmp_path, shop_lines(REAL), assignments=assignments(REAL, dates="04/11/2025"))
    err = refused(capsys, executed, cfg, tmp_path)
    assert "assign.csv" in err and "column 'exposure_date' are ambiguous" in err
    cfg = write_case(tmp_path, shop_lines(REAL), assignments=assignments(REAL, dates="04/11/2025"),
                     changes={"experiment": {"exposure_date_format": "%d/%m/%Y"}})
    a = input_checks.read_assignments(loading.load_config(cfg))
    assert (a.table["exposure"] == pd.Timestamp("2025-11-04")).all()


def test_a_bad_exposure_date_is_named_by_its_line(tmp_path, executed, capsys):
    text = assignments(REAL).replace("12350,control,2025-11-04", "12350,control,0225-11-04")
    cfg = write_case(tmp_path, shop_lines(REAL), assignments=text)
    err = refused(capsys, executed, cfg, tmp_path)
    assert "assign.csv" in err and "column 'exposure_date' are not dates from 1900 to 2200" in err
    assert "'0225-11-04' (row 6)" in err


def test_a_typo_year_in_the_transactions_names_file_column_and_row(tmp_path, executed, capsys):
    lines = shop_lines(REAL)
    lines[7] = lines[7].replace("/2025 ", "/0225 ")
    err = refused(capsys, executed, write_case(tmp_path, lines), tmp_path)
    assert "shop.csv: 1 value(s) in column 'InvoiceDate' are not dates" in err and "(row 9)" in err


# ------------------------------------------------------------------ 5. rfm.n_levels against the scheme


def test_n_levels_must_match_the_scheme(tmp_path, executed, capsys):
    cfg = write_case(tmp_path, shop_lines(REAL), changes={"rfm": {"n_levels": 3, "recency_bands": [30, 90]}})
    err = refused(capsys, executed, cfg, tmp_path)
    assert "run.yaml: rfm.n_levels = 3: expected 5, the score levels the rules of the scheme 'en11'" in err


# ------------------------------------------------------------------ 6. truncated file, short rows


def test_a_truncated_last_line_is_refused_with_file_and_line(tmp_path, executed, capsys):
    lines = shop_lines(REAL)
    lines[-1] = lines[-1].split(",2.50,")[0]  # cut in the middle of the line
    cfg = write_case(tmp_path, lines, tail="")
    err = refused(capsys, executed, cfg, tmp_path)
    assert "shop.csv: 1 row(s) have fewer fields than the header's 8: line 61 (5 of 8 fields)" in err
    assert "looks cut off (truncated)" in err and "data.allow_short_rows: true" in err


def test_a_row_with_too_few_fields_is_named_and_allowed_only_on_request(tmp_path, executed, capsys):
    lines = shop_lines(REAL)
    lines[9] = ",".join(lines[9].split(",")[:4])
    cfg = write_case(tmp_path, lines)
    err = refused(capsys, executed, cfg, tmp_path)
    assert "line 11 (4 of 8 fields)" in err and "truncated" not in err
    cfg = write_case(tmp_path, lines, changes={"data": {"allow_short_rows": True}})
    code, err = report(capsys, cfg, tmp_path / "reports")
    assert code == 0 and "dropped 1 short row(s)" in err
    assert len(context.load(loading.load_config(cfg)).data) == 59


def test_extra_fields_and_an_open_quote_name_the_file_and_line(tmp_path, executed, capsys):
    lines = shop_lines(REAL)
    lines[4] += ",extra"
    err = refused(capsys, executed, write_case(tmp_path, lines), tmp_path)
    assert "shop.csv: line 6 has 9 fields, the header 8" in err
    lines = shop_lines(REAL)
    lines[4] = lines[4].replace("MUG", '"MUG')
    err = refused(capsys, executed, write_case(tmp_path, lines), tmp_path)
    assert "shop.csv: a quoted value is never closed" in err


# ------------------------------------------------------------------ 7. late config errors, up front


@pytest.mark.parametrize(("changes", "message"), [
    ({"clustering": {"k": 20, "k_max": 3}}, "clustering.k = 20: expected fewer clusters than the data's 20 customers"),
    ({"clustering": {"k_max": 20}}, "clustering.k_max = 20: expected fewer clusters than the data's 20 customers"),
    ({"clv": {"min_customers": 5000}}, "clv.min_customers = 5,000: the data has only 20 customers"),
    ({"data": {"date_format": "%Q/%d"}}, "data.date_format = '%Q/%d': expected a date format made of strftime codes"),
    ({"engine": {"memory_limit": "lots"}}, "engine.memory_limit = 'lots': expected a size such as 4GB"),
    ({"experiment": {"name": "../../outside"}}, "experiment.name = '../../outside': expected a plain folder name"),
])
def test_config_errors_that_depend_on_the_data_come_up_front_in_words(changes, message, tmp_path, executed, capsys):
    err = refused(capsys, executed, write_case(tmp_path, shop_lines(REAL), changes=changes), tmp_path)
    assert message in err
    assert "^" not in err and "\\d" not in err  # no regular expression


def test_a_control_label_missing_from_the_arms_is_refused_up_front(tmp_path, executed, capsys):
    cfg = write_case(tmp_path, shop_lines(REAL), assignments=assignments(REAL),
                     changes={"experiment": {"control_label": "ctrl"}})
    err = refused(capsys, executed, cfg, tmp_path)
    assert "experiment.control_label = 'ctrl': expected one of the arms in column 'variant' of assign.csv" in err
    assert "['control', 'offer_a']" in err


# ------------------------------------------------------------------ 8. masking covers files


KEY = "9f2c5e0b7a14d3e86c1f0a9b2d4e6f8071a3c5e7092b4d6f8a1c3e5f7092b4d6"


def test_a_guessable_masking_key_is_refused_with_how_to_make_one(tmp_path, executed, capsys, monkeypatch):
    monkeypatch.setenv("CUSTOMER_ANALYTICS_MASK_KEY", "passwordpassword")
    err = refused(capsys, executed, write_case(tmp_path, shop_lines(REAL), changes={"mask_ids": True}), tmp_path)
    assert "too easy to guess: about 44 bits of entropy, at least 128 are needed" in err
    assert "secrets.token_hex(32)" in err


def test_a_masked_run_publishes_no_raw_id_outside_customers_csv(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CUSTOMER_ANALYTICS_MASK_KEY", KEY)
    raw = [f"CUST-{c}" for c in REAL]

    def fake(src, out, parameters=None, **kwargs):  # the notebooks' files, with raw ids, in the run folder
        shutil.copy(src, out)
        run = Path(out).parent
        (run / "tables").mkdir(exist_ok=True)
        frame = pd.DataFrame({"customer_id": raw[:5], "clv": [1.0] * 5})
        frame.to_csv(run / "tables" / "clv_at_risk.csv", index=False)
        frame.to_csv(run / "customers.csv", index=False)
        frame.to_parquet(run / "clean_transactions.parquet", index=False)
        frame.to_parquet(run / "tables" / "other.parquet", index=False)

    monkeypatch.setattr(papermill, "execute_notebook", fake)
    cfg = write_case(tmp_path, shop_lines(raw), changes={"mask_ids": True})
    code, err = report(capsys, cfg, tmp_path / "reports")
    assert code == 0, err
    folder = tmp_path / "reports" / PERIOD
    assert not (folder / "clean_transactions.parquet").exists()
    assert pd.read_csv(folder / "customers.csv")["customer_id"].tolist() == raw[:5]  # the marketing export
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.name != "customers.csv":
            text = pd.read_parquet(p).to_csv() if p.suffix == ".parquet" else p.read_text(errors="replace")
            assert "CUST-" not in text, p.relative_to(folder)
    masked = pd.read_csv(folder / "tables" / "clv_at_risk.csv")["customer_id"]
    assert masked.str.fullmatch(r"[0-9a-f]{16}").all()


# ------------------------------------------------------------------ 9. leftovers


def test_a_failed_or_refused_run_leaves_no_empty_staging_folder(tmp_path, monkeypatch, capsys):
    from papermill.exceptions import PapermillExecutionError

    def failing(src, out, **kwargs):
        shutil.copy(src, out)
        raise PapermillExecutionError(1, 1, "x", "ValueError", "broken on purpose", [])

    monkeypatch.setattr(papermill, "execute_notebook", failing)
    reports = tmp_path / "reports"
    code, err = report(capsys, write_case(tmp_path, shop_lines(REAL)), reports)
    assert code == 1 and "broken on purpose" in err
    assert (reports / "_failed").exists() and not (reports / ".staging").exists()


# ------------------------------------------------------------------ 10. unclear messages


def test_one_typo_date_is_named_by_its_row(tmp_path, executed, capsys):
    lines = shop_lines(REAL)
    lines[10] = lines[10].replace("20/11/2025", "11/30/2025")  # month first, among day-first dates
    err = refused(capsys, executed, write_case(tmp_path, lines), tmp_path)
    assert "ambiguous (both orders occur)" in err and "1 only as month/day, e.g. '11/30/2025 11:30' (row 12)" in err


def test_a_repeated_header_line_is_named_as_such(tmp_path, executed, capsys):
    lines = shop_lines(REAL)
    lines.insert(30, HEADER)
    err = refused(capsys, executed, write_case(tmp_path, lines), tmp_path)
    assert "the header line repeats inside the file ('InvoiceDate' (row 32))" in err


def test_a_gzip_file_is_named_compressed_not_utf16(tmp_path, executed, capsys):
    import gzip

    cfg = write_case(tmp_path, shop_lines(REAL))
    data = tmp_path / "shop.csv"
    data.write_bytes(gzip.compress(data.read_bytes()))
    err = refused(capsys, executed, cfg, tmp_path)
    assert "shop.csv: the file is gzip-compressed, not a text export" in err and "utf-16" not in err


def test_a_wrong_configured_encoding_names_the_line(tmp_path, executed, capsys):
    lines = shop_lines(REAL)
    lines[20] = lines[20].replace("MUG", "CAFÉ MUG")
    cfg = write_case(tmp_path, lines, changes={"data": {"encoding": "utf-8"}})
    data = tmp_path / "shop.csv"
    data.write_bytes(data.read_text(encoding="utf-8").encode("cp1252"))
    err = refused(capsys, executed, cfg, tmp_path)
    assert "line 22 is not valid utf-8" in err and "cp1252" in err


def test_a_missing_unit_price_is_named_not_amount_alone(tmp_path, executed, capsys):
    cfg = write_case(tmp_path, shop_lines(REAL))
    data = tmp_path / "shop.csv"
    data.write_text(data.read_text().replace("UnitPrice", "Preis"))
    err = refused(capsys, executed, cfg, tmp_path)
    assert "or quantity and unit_price to compute it (quantity <- Quantity; unit_price: none of ['UnitPrice', 'Price'])" in err


def test_exposures_after_the_period_say_when_the_experiment_can_be_evaluated():
    from customer_analytics.report.i18n import t

    text = t("nb04.not_started", "en", file="a.csv", date="2026-01-05", end="2025-12-31", ready="2026-02-02",
             ready_period="2026-02")
    assert "first outcome windows close on 2026-02-02" in text and "the report of 2026-02" in text


@pytest.mark.parametrize(("price", "shown"), [("1e400", "inf (row 5)"), ("99999999999.99", "99,999,999,999.99 (row 5)")])
def test_amounts_beyond_any_plausible_range_are_refused_with_the_row(price, shown, tmp_path, executed, capsys):
    lines = shop_lines(REAL)
    lines[3] = lines[3].replace(",2.50,", f",{price},")
    err = refused(capsys, executed, write_case(tmp_path, lines), tmp_path)
    assert "shop.csv: 1 value(s) in column 'UnitPrice' are beyond any plausible amount" in err and shown in err
    assert "data.max_amount" in err


def test_masking_files_skips_an_empty_table(tmp_path, monkeypatch):
    from customer_analytics.pipeline import run_folder

    monkeypatch.setenv("CUSTOMER_ANALYTICS_MASK_KEY", KEY)
    (tmp_path / "empty.csv").write_text("")
    pd.DataFrame({"customer_id": ["CUST-1"]}).to_csv(tmp_path / "t.csv", index=False)
    assert run_folder.mask_published_files(tmp_path) == ["t.csv"]
