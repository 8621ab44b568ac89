"""Print the result of a mutation run per module: counts, survival rate and the survivors.

Run by ``make mutate`` inside the mutation work folder (``.mutate/``) after
``mutmut run``. A mutant *survives* when it changes the code and every selected
test still passes; mutants in code that no selected test executes ("no tests")
count as survivors too. Mutants listed in ``tools/mutation_equivalents.txt``
(one name per line, ``#`` starts the reason) are equivalent: they cannot change
anything a user sees, so they are left out of the rate and listed apart.

Survival rate = surviving non-equivalent mutants / all non-equivalent mutants.
Timeouts count as killed (the mutant made the tests hang).

With ``--sample N`` everything is computed on a simple random sample of N of
the generated mutants (drawn without replacement with ``--seed``, from the
sorted list of all mutant names, so the same code and seed give the same
sample). The rate is then an estimate of the full run's rate; it is printed
with a 95% Wilson interval (statsmodels ``proportion_confint``).

Usage (inside ``.mutate/``)::

    python ../tools/mutation_summary.py [--sample N] [--seed S] MUTMUT   # the summary
    python ../tools/mutation_summary.py --names pending|survivors [--sample N] [--seed S] MUTMUT
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

MODULES = ("experiments", "rfm", "cleaning", "clustering")
#: Where each mutated file belongs: the cleaning step is its rules and the readers of the export.
MODULE_OF = {"models.experiments": "experiments", "models.rfm": "rfm", "models.cleaning": "cleaning",
             "models.rules": "cleaning", "io.reading": "cleaning", "io.canonical": "cleaning",
             "io.engine_sources": "cleaning", "models.clustering": "clustering"}


def module_of(name: str) -> str:
    """The module a mutant counts under, from its name (``customer_analytics.models.rules.x_f__mutmut_3``)."""
    parts = name.split(".")
    return MODULE_OF.get(".".join(parts[1:3]), parts[1])


def function_of(name: str) -> str:
    """The mutated function without the package and layer, e.g. ``rules.x_net_returns``."""
    return name.partition("__mutmut_")[0].split(".", 2)[2]
SURVIVING = {"survived", "no tests"}
NOT_RUN = {"not checked", "skipped", "check was interrupted by user"}


def equivalents(path: Path) -> dict[str, str]:
    """Mutant name -> reason, from the equivalents file (missing file: none)."""
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, why = line.partition("#")
            if name.strip():
                out[name.strip()] = why.strip()
    return out


def results(mutmut: str) -> dict[str, str]:
    """Mutant name -> status, as ``mutmut results --all true`` reports them."""
    text = subprocess.run([mutmut, "results", "--all", "true"], capture_output=True, text=True, check=True).stdout
    out = {}
    for line in text.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            out[name] = status
    return out


def _order(name: str) -> tuple[str, int]:
    func, _, number = name.partition("__mutmut_")
    return func, int(number) if number.isdigit() else 0


def sample(status: dict[str, str], n: int | None, seed: int = 0) -> dict[str, str]:
    """A seeded simple random sample of ``n`` mutants (all of them when ``n`` is None or too large)."""
    import numpy as np

    if n is None or n >= len(status):
        return status
    names = sorted(status)
    picked = np.random.default_rng(seed).choice(len(names), size=n, replace=False)
    return {names[i]: status[names[i]] for i in sorted(picked)}


def names(status: dict[str, str], equiv: dict[str, str], which: str) -> list[str]:
    """Mutants to run: ``pending`` (never run) or ``survivors`` (never run, or survived last time), sorted.

    A mutant killed once stays killed when tests are added, so only these need running again.
    """
    wanted = NOT_RUN if which == "pending" else NOT_RUN | SURVIVING
    return sorted((n for n, s in status.items() if s in wanted and n not in equiv), key=_order)


def wilson(k: int, n: int) -> str:
    """95% Wilson interval of the proportion k / n, as text."""
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    return f"{lo:.1%} to {hi:.1%}"


def main(mutmut: str = "mutmut", equivalents_file: str = "../tools/mutation_equivalents.txt",
         n_sample: int | None = None, seed: int = 0) -> int:
    status = sample(results(mutmut), n_sample, seed)
    equiv = equivalents(Path(equivalents_file))
    if n_sample:
        print(f"Random sample of {len(status):,} mutants (seed {seed}); rates are estimates with 95% Wilson intervals.\n")
    by_module: dict[str, dict[str, str]] = defaultdict(dict)
    for name, st in status.items():
        by_module[module_of(name)][name] = st
    print(f"{'module':<12} {'mutants':>8} {'killed':>7} {'survived':>9} {'no tests':>9} {'equiv.':>7} "
          f"{'not run':>8} {'survival':>9}")
    totals: Counter = Counter()
    for module in MODULES:
        res = by_module.get(module, {})
        c = Counter(res.values())
        run = {n: s for n, s in res.items() if s not in NOT_RUN}
        eq = [n for n in run if n in equiv]
        counted = {n: s for n, s in run.items() if n not in equiv}
        surv = sorted(n for n, s in counted.items() if s in SURVIVING)
        rate = f"{len(surv) / len(counted):.1%}" if counted else "-"
        killed = sum(1 for s in counted.values() if s not in SURVIVING)
        ci = f"  ({wilson(len(surv), len(counted))})" if n_sample and counted else ""
        print(f"{module:<12} {len(res):>8} {killed:>7} {c['survived']:>9} {c['no tests']:>9} {len(eq):>7} "
              f"{sum(c[s] for s in NOT_RUN):>8} {rate:>9}{ci}")
        totals.update(mutants=len(res), killed=killed, surviving=len(surv), counted=len(counted))
    if totals["counted"]:
        ci = f"  ({wilson(totals['surviving'], totals['counted'])})" if n_sample else ""
        print(f"{'all four':<12} {totals['mutants']:>8} {totals['killed']:>7} {'':>9} {'':>9} {'':>7} {'':>8} "
              f"{totals['surviving'] / totals['counted']:>9.1%}{ci}")
    partial = [m for m in MODULES if any(s in NOT_RUN for s in by_module.get(m, {}).values())]
    if partial:
        print(f"\nNot every mutant was run in {', '.join(partial)}; per function (where any was run):")
        print(f"{'function':<48} {'run':>5} {'equiv.':>7} {'surviving':>10} {'survival':>9}")
        for module in MODULES:
            funcs: dict[str, list[str]] = defaultdict(list)
            for n, st in by_module.get(module, {}).items():
                if st not in NOT_RUN:
                    funcs[function_of(n)].append(n)
            for func, names in sorted(funcs.items()):
                eq = sum(1 for n in names if n in equiv)
                surv = sum(1 for n in names if n not in equiv and by_module[module][n] in SURVIVING)
                base = len(names) - eq
                rate = f"{surv / base:.1%}" if base else "-"
                print(f"{func:<48} {len(names):>5} {eq:>7} {surv:>10} {rate:>9}")
    for module in MODULES:
        res = by_module.get(module, {})
        surv = sorted((n for n, s in res.items() if s in SURVIVING and n not in equiv), key=_order)
        if surv:
            print(f"\nSurviving mutants in {module} ({len(surv)}); see one with `mutmut show <name>` in .mutate/:")
            for n in surv:
                print(f"  {n}  [{res[n]}]")
    return 0


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mutmut", nargs="?", default="mutmut", help="the mutmut executable")
    parser.add_argument("--names", choices=["pending", "survivors"], default=None,
                        help="print mutant names instead: never run (pending), or never run and surviving (survivors)")
    parser.add_argument("--sample", type=int, default=None, help="only a seeded random sample of N mutants")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--equivalents", default="../tools/mutation_equivalents.txt")
    a = parser.parse_args(argv)
    if a.names:
        status = sample(results(a.mutmut), a.sample, a.seed)
        picked = names(status, equivalents(Path(a.equivalents)), a.names)
        print(" ".join(picked))
        return 0
    return main(a.mutmut, a.equivalents, a.sample, a.seed)


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
