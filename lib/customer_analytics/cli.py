"""Command line: ``python -m customer_analytics {report,make-sample}``.

Exit codes: 0 success, 1 a notebook failed, 2 bad input or configuration,
3 the report exists already (use --force), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from customer_analytics.errors import InputError, ReportExistsError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m customer_analytics", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="run the four notebooks for a period and write reports/<period>/")
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
    r.add_argument("--quiet", action="store_true", help="no progress output")
    s = sub.add_parser("make-sample", help="write the seeded synthetic shop export and campaign tables")
    s.add_argument("--out", default="data/sample", help="output folder (default: data/sample)")
    s.add_argument("--seed", type=int, default=42)
    s.add_argument("--customers", type=int, default=1500)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "make-sample":
        from customer_analytics.sample import make_sample, write_sample

        paths = write_sample(make_sample(seed=args.seed, n_customers=args.customers), args.out)
        for k, v in paths.items():
            print(f"{k}: {v}")
        return 0

    from customer_analytics import runner

    kwargs = dict(data=args.data, config=args.config, show_code=args.show_code, force=args.force, language=args.language,
                  reports_dir=args.reports_dir, notebooks_dir=args.notebooks_dir, progress=not args.quiet)
    reports = Path(args.reports_dir) if args.reports_dir else None
    try:
        if args.start or args.end:
            if not (args.start and args.end):
                raise InputError("--from and --to go together")
            results = runner.backfill(args.start, args.end, **kwargs)
            print("\nBackfill summary:")
            for per, status in results.items():
                print(f"  {per}: {status}")
            failed = [p for p, s in results.items() if s.startswith("failed")]
            index = (reports or runner.project_root() / "reports") / "index.html"
            print(f"Index: {index}")
            return 1 if failed else 0
        folder = runner.run_report(period=args.period, **kwargs)
        print(f"Index: {folder.parent / 'index.html'}")
        return 0
    except ReportExistsError as exc:
        print(f"Refused: {exc}", file=sys.stderr)
        return 3
    except runner.NotebookFailed as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        print("The executed notebook with the error is under reports/_failed/; any earlier report is unchanged.",
              file=sys.stderr)
        return 1
    except InputError as exc:
        print(f"Input error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted: nothing was published; the partial run is under reports/_failed/.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
