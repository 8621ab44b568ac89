"""Print the result of a mutation run per module: counts, survival rate and the survivors.

Run by ``make mutate`` inside the mutation work folder (``.mutate/``) after
``mutmut run``. A mutant *survives* when it changes the code and every selected
test still passes; mutants in code that no selected test executes ("no tests")
count as survivors too. Mutants listed in ``tools/mutation_equivalents.txt``
(one name per line, ``#`` starts the reason) are equivalent: they cannot change
anything a user sees, so they are left out of the rate and listed apart.

Survival rate = surviving non-equivalent mutants / all non-equivalent mutants.
Timeouts count as killed (the mutant made the tests hang).
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

MODULES = ("experiments", "rfm", "cleaning", "clustering")
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


def main(mutmut: str = "mutmut", equivalents_file: str = "../tools/mutation_equivalents.txt") -> int:
    status = results(mutmut)
    equiv = equivalents(Path(equivalents_file))
    by_module: dict[str, dict[str, str]] = defaultdict(dict)
    for name, st in status.items():
        by_module[name.split(".")[1]][name] = st
    print(f"{'module':<12} {'mutants':>8} {'killed':>7} {'survived':>9} {'no tests':>9} {'equiv.':>7} "
          f"{'not run':>8} {'survival':>9}")
    for module in MODULES:
        res = by_module.get(module, {})
        c = Counter(res.values())
        run = {n: s for n, s in res.items() if s not in NOT_RUN}
        eq = [n for n in run if n in equiv]
        counted = {n: s for n, s in run.items() if n not in equiv}
        surv = sorted(n for n, s in counted.items() if s in SURVIVING)
        rate = f"{len(surv) / len(counted):.1%}" if counted else "-"
        killed = sum(1 for s in counted.values() if s not in SURVIVING)
        print(f"{module:<12} {len(res):>8} {killed:>7} {c['survived']:>9} {c['no tests']:>9} {len(eq):>7} "
              f"{sum(c[s] for s in NOT_RUN):>8} {rate:>9}")
    partial = [m for m in MODULES if any(s in NOT_RUN for s in by_module.get(m, {}).values())]
    if partial:
        print(f"\nNot every mutant was run in {', '.join(partial)}; per function (where any was run):")
        print(f"{'function':<48} {'run':>5} {'equiv.':>7} {'surviving':>10} {'survival':>9}")
        for module in MODULES:
            funcs: dict[str, list[str]] = defaultdict(list)
            for n, st in by_module.get(module, {}).items():
                if st not in NOT_RUN:
                    funcs[n.partition("__mutmut_")[0].split(".", 2)[2]].append(n)
            for func, names in sorted(funcs.items()):
                eq = sum(1 for n in names if n in equiv)
                surv = sum(1 for n in names if n not in equiv and by_module[module][n] in SURVIVING)
                base = len(names) - eq
                rate = f"{surv / base:.1%}" if base else "-"
                print(f"{module + '.' + func:<48} {len(names):>5} {eq:>7} {surv:>10} {rate:>9}")
    for module in MODULES:
        res = by_module.get(module, {})
        surv = sorted((n for n, s in res.items() if s in SURVIVING and n not in equiv), key=_order)
        if surv:
            print(f"\nSurviving mutants in {module} ({len(surv)}); see one with `mutmut show <name>` in .mutate/:")
            for n in surv:
                print(f"  {n}  [{res[n]}]")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
