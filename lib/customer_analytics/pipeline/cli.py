"""Command line: ``python -m customer_analytics {report,make-sample,make-warehouse}``.

Exit codes: 0 success, 1 a notebook failed, 2 bad input or configuration,
3 the report exists already (use --force), 4 stale data (no transactions in the
requested period: the export was not refreshed, or the month is before the data
starts; nothing is published), 5 internal error (one line on the console, the
traceback in a log file), 6 another run holds the period's lock, 130 interrupted.
A read-only or full output folder is bad input (2).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import traceback
from pathlib import Path

from customer_analytics.core.errors import (
    InputError,
    LockHeldError,
    ReportExistsError,
    StaleDataError,
)
from customer_analytics.core.paths import project_root
from customer_analytics.io import reading
from customer_analytics.io.sample import make_sample, write_sample
from customer_analytics.pipeline import runner
from customer_analytics.settings.loading import load_config


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m customer_analytics", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="run every notebook for a period and write reports/<period>/")
    r.add_argument("--period", help="YYYY-MM, 'previous' (last complete calendar month) or 'latest' "
                                    "(last complete month in the data; the default)")
    r.add_argument("--data", help="input file (default: the config's data.path)")
    r.add_argument("--config", help="run config YAML (default: package defaults; see config/)")
    r.add_argument("--from", dest="start", help="backfill: first period YYYY-MM")
    r.add_argument("--to", dest="end", help="backfill: last period YYYY-MM")
    r.add_argument("--language", choices=["en", "zh"], help="report language (default: the config's language)")
    r.add_argument("--show-code", action="store_true", help="keep code cells in the HTML reports")
    r.add_argument("--force", action="store_true", help="replace an existing report (only after success)")
    r.add_argument("--reports-dir", help="output folder (default: reports/)")
    r.add_argument("--notebooks-dir", help="notebook folder (default: notebooks/)")
    r.add_argument("--quiet", action="store_true", help="print only errors and the final paths")
    r.add_argument("--verbose", action="store_true", help="also log each notebook cell as it runs")
    r.add_argument("--check", action="store_true",
                   help="check the config, the input and the period (the guard included), print the plan "
                        "and exit with the code the run would get, without running or writing anything")
    s = sub.add_parser("make-sample", help="write the seeded synthetic shop export and campaign tables")
    s.add_argument("--out", default="data/sample", help="output folder (default: data/sample)")
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--customers", type=int, default=1500)
    w = sub.add_parser("make-warehouse", help="write the bundled sample as a table in a DuckDB database file")
    w.add_argument("--out", default="data/warehouse.duckdb", help="database file (default: data/warehouse.duckdb)")
    w.add_argument("--table", default="sales.transactions")
    return p


def write_error_log(exc: BaseException, reports: Path | None) -> Path:
    """Write the traceback of an unexpected error to ``<reports>/_logs/`` (else the temp folder)."""

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    text = "".join(traceback.format_exception(exc))
    for folder in ((reports or project_root() / "reports") / "_logs", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"customer-analytics-error-{stamp}.log"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return Path("(no log written: no writable folder)")


def _make_sample(args) -> int:
    paths = write_sample(make_sample(seed=args.seed, n_customers=args.customers), args.out)
    for k, v in paths.items():
        print(f"{k}: {v}")
    return 0


def _make_warehouse(args) -> int:
    d = load_config(None)["data"]
    loaded = reading.load_transactions(d["path"], preset=d["preset"])
    n = reading.write_duckdb_table(loaded, args.out, args.table)
    print(f"{args.table}: {n:,} lines from {loaded.path.name} written to {args.out}")
    return 0


def _report(args, argv: list[str], reports: Path | None) -> int:
    """Run one period (or a backfill) and print where the index is; the exit code."""
    options = runner.RunOptions(data=args.data, config=args.config, show_code=args.show_code, force=args.force,
                                language=args.language, reports_dir=args.reports_dir,
                                notebooks_dir=args.notebooks_dir, progress=not args.quiet,
                                verbose=args.verbose and not args.quiet, check_only=args.check, argv=argv)
    if not (args.start or args.end):
        folder = runner.run_report(options, period=args.period)
        if not args.check:
            print(f"Index: {folder.parent / 'index.html'}")
        return 0
    if not (args.start and args.end):
        raise InputError("--from and --to go together")
    results = runner.backfill(args.start, args.end, options)
    print("\nBackfill summary:")
    for per, status in results.items():
        print(f"  {per}: {status}")
    failed = [p for p, s in results.items() if s.startswith("failed")]
    stale = [p for p, s in results.items() if s.startswith("no data")]
    print(f"Index: {(reports or runner.project_root() / 'reports') / 'index.html'}")
    return 1 if failed else 4 if stale else 0


#: Expected failures, in the order they are matched: the exception type, the message's first word, the exit code.
EXIT_CODES = [(ReportExistsError, "Refused", 3), (runner.NotebookFailed, "FAILED", 1), (StaleDataError, "Stale data", 4),
              (InputError, "Input error", 2), (LockHeldError, "Refused", 6)]


def _exit_code(exc: Exception, reports: Path | None) -> int:
    """Print one line for a failed run and return its exit code (5: a bug, the traceback in a log file)."""
    for kind, lead, code in EXIT_CODES:
        if isinstance(exc, kind):
            print(f"{lead}: {exc}", file=sys.stderr)
            if code == 1:
                print("The executed notebook with the error is under reports/_failed/; any earlier report is "
                      "unchanged.", file=sys.stderr)
            return code
    log = write_error_log(exc, reports)
    one_line = " ".join(str(exc).split())[:300]
    print(f"Internal error while {runner.current_step['name']}: {type(exc).__name__}: {one_line}. "
          f"The traceback is in {log}", file=sys.stderr)
    return 5


def main(argv: list[str] | None = None) -> int:
    """The command line: ``report`` (the exit codes are listed in the README), ``make-sample``, ``make-warehouse``."""
    args = _parser().parse_args(argv)
    if args.command == "make-sample":
        return _make_sample(args)
    if args.command == "make-warehouse":
        return _make_warehouse(args)
    reports = Path(args.reports_dir) if args.reports_dir else None
    try:
        return _report(args, list(argv if argv is not None else sys.argv[1:]), reports)
    except KeyboardInterrupt:
        print("Interrupted: nothing was published; the partial run is under reports/_failed/.", file=sys.stderr)
        return 130
    except Exception as exc:  # expected failures get their exit code; anything else is a bug
        return _exit_code(exc, reports)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
