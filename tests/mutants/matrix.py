"""The kill matrix as a report: `python -m tests.mutants.matrix` (what `make mutants` runs).

For every fault of the mutant zoo (`reference_replica.faults`) it runs the conformance suite
against the reference replica with that fault on (ci profile, stop at the first failure, see
`suite_run`), replays the failure the suite saved, and records: the rule the fault breaks,
whether the suite caught it citing that rule, the seconds and steps until the first violation,
and the length of the (shrunk) step sequence that replays it. The clean replica runs the same
command first and must pass. It prints the table and writes it as JSON (default
`conformance-artifacts/mutants-report.json`), and lists the *unproven* checks: MUST rules of
kind safety or liveness that no fault's run cited.

    python -m tests.mutants.matrix                       # every fault, 2 runs at a time
    python -m tests.mutants.matrix --fault silent-drop   # just these (repeatable)
    python -m tests.mutants.matrix --out report.json --jobs 1

Exit status: 0 when the clean replica passed and every fault was caught with its own rule.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from conformance.rules import RULES
from reference_replica import faults
from tests.mutants import suite_run
from tests.mutants.suite_run import PATIENCE, PROFILE, SuiteRun

DEFAULT_OUT = Path("conformance-artifacts") / "mutants-report.json"


@dataclass(frozen=True)
class Row:
    """One fault's line of the matrix."""

    fault: str
    rule: str
    source: str
    description: str
    caught: bool  # the run failed citing `rule`, its replay did too, and its histories re-judge the same offline
    cited: list[str]  # every rule the run's failures cite
    first_rule: str  # the rule of the first violation
    seconds: float | None  # to the first violation, from the start of the suite's session
    steps: int | None  # steps executed until the first violation, the violating one included
    shrunk: int | None  # steps of the saved (shrunk) failure that replays it
    test: str  # the suite test that found it
    replayed: bool  # the replay of the saved failure failed again, citing `rule`
    run_seconds: float  # the whole run (first failure, shrinking, report)
    problem: str = ""  # why it does not count as caught
    caught_by: str = ""  # "state machines", "a scenario" (only), "a robustness probe"; "" if not caught


CAUGHT_BY = ("state machines", "a scenario", "a robustness probe")


def judge(fault: faults.Fault, run: SuiteRun, again: SuiteRun | None) -> Row:
    first = run.first
    failure = run.failures[0] if run.failures else None
    own = set(fault.rules)
    replayed = again is not None and bool(own & set(again.cited))
    problems = []
    if run.exit_code == 0:
        problems.append("the suite passed")
    elif not own & set(run.cited):
        problems.append(f"the suite cited {', '.join(run.cited) or 'no rule'}, not {' or '.join(fault.rules)}")
    if failure is None:
        problems.append("no failure artifact was written")
    elif not failure.history_file.exists():
        problems.append(f"no history next to {failure.replay_file.name}")
    elif not replayed:
        cited = ", ".join(again.cited) if again is not None and again.cited else "nothing"
        problems.append(f"its replay did not reproduce it (cited {cited})")
    problems += run.offline_mismatches() + (again.offline_mismatches() if again is not None else [])
    return Row(
        fault=fault.name,
        rule=fault.rule,
        source=fault.source,
        description=fault.description,
        caught=not problems,
        cited=run.cited,
        first_rule=first.rules[0] if first and first.rules else "",
        seconds=first.seconds if first else None,
        steps=first.steps if first else None,
        shrunk=failure.steps if failure else None,
        test=_short_test(failure.test if failure else first.test if first else ""),
        replayed=replayed,
        run_seconds=round(run.seconds, 1),
        problem="; ".join(problems),
    )


def kill(fault: faults.Fault, workdir: Path, patience: float = PATIENCE, caught_by: bool = True) -> Row:
    run = suite_run.run_suite(fault.name, workdir, patience=patience)
    again = suite_run.replay(run, workdir, patience=patience) if run.failures else None
    row = judge(fault, run, again)
    if row.caught and caught_by:
        row = replace(row, caught_by=who_caught(fault, run, workdir, patience))
    return row


def who_caught(fault: faults.Fault, run: SuiteRun, workdir: Path, patience: float = PATIENCE) -> str:
    """Whether the state machines catch the fault on their own (its rule, no scenario's help).

    The matrix's run plays the scenarios first; when its first violation still came from a
    machine, that settles it. Otherwise the machines run alone. The robustness rules are judged
    from deliberate probes only (the machines send nothing illegal), so their faults are the
    probes' by construction."""
    if suite_run.strict_for(fault.name):
        return "a robustness probe"
    if suite_run.caught_by_machines(run.first, fault.rules):
        return "state machines"
    alone = suite_run.run_machines(fault.name, workdir, patience=patience)
    return "state machines" if suite_run.caught_by_machines(alone.first, fault.rules) else "a scenario"


def checks() -> list[str]:
    """The checks every fault together must prove: MUST rules of kind safety or liveness."""
    return [r.id for r in RULES.values() if r.level == "MUST" and r.kind in ("safety", "liveness")]


def robustness_checks() -> list[str]:
    """The SHOULD robustness rules (the probes of test_robustness): each has a fault too, whose
    run is strict (`suite_run.strict_for`)."""
    return [r.id for r in RULES.values() if r.level == "SHOULD" and r.kind == "robustness"]


def unproven(rows: Iterable[Row]) -> list[str]:
    tripped = {rule for row in rows for rule in row.cited}
    return [rule for rule in checks() if rule not in tripped]


def report(rows: list[Row], clean: SuiteRun | None, patience: float) -> dict[str, Any]:
    caught = [r for r in rows if r.caught]
    by_machines = [r for r in rows if r.caught_by == "state machines"]
    return {
        "profile": PROFILE,
        "patience_s": patience,
        "command": " ".join(suite_run.suite_command("NAME", Path("ARTIFACTS"), patience=patience)[1:]),
        "clean": None
        if clean is None
        else {"passed": clean.passed, "seconds": round(clean.seconds, 1), "cited": clean.cited},
        "faults": [asdict(r) for r in rows],
        "caught": len(caught),
        "caught_by_machines": len(by_machines),
        "not_by_machines": [r.fault for r in rows if r.caught and r.caught_by != "state machines"],
        "total": len(rows),
        "checks": checks(),
        "unproven": unproven(rows),
    }


def table(rows: list[Row]) -> str:
    header = ("fault", "rule", "caught", "caught by", "s to 1st", "steps to 1st", "shrunk", "rules cited", "source")
    lines = [header]
    for r in rows:
        lines.append(
            (
                r.fault,
                r.rule,
                "yes" if r.caught else "NO",
                r.caught_by or "-",
                "-" if r.seconds is None else f"{r.seconds:.1f}",
                "-" if r.steps is None else str(r.steps),
                "-" if r.shrunk is None else str(r.shrunk),
                ", ".join(r.cited) or "-",
                r.source or "-",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def markdown(rows: list[Row]) -> str:
    """The table as the README shows it."""
    out = [
        "| fault | breaks | caught | caught by | s to 1st violation | steps to 1st | shrunk to | from |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        seconds = "-" if r.seconds is None else f"{r.seconds:.1f}"
        out.append(
            f"| `{r.fault}` | {r.rule} | {'yes' if r.caught else '**no**'} | {r.caught_by or '-'} | {seconds} | "
            f"{r.steps if r.steps is not None else '-'} | {r.shrunk if r.shrunk is not None else '-'} | "
            f"{r.source or '-'} |"
        )
    return "\n".join(out)


def run_matrix(
    names: Sequence[str],
    workdir: Path,
    *,
    jobs: int = 2,
    patience: float = PATIENCE,
    progress: Callable[[str], None] = lambda _: None,
    caught_by: bool = True,
) -> tuple[SuiteRun, list[Row]]:
    """The clean run, then every fault in `names` (`jobs` at a time), rows in registry order."""
    clean = suite_run.run_suite(None, workdir, patience=patience)
    progress(f"clean replica: {'passed' if clean.passed else 'FAILED'} in {clean.seconds:.1f} s")

    def one(name: str) -> Row:
        row = kill(faults.REGISTRY[name], workdir, patience, caught_by)
        verdict = f"caught ({row.caught_by or 'by ?'})" if row.caught else "NOT CAUGHT: " + row.problem
        progress(f"{name}: {verdict} ({row.run_seconds:g} s)")
        return row

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        rows = list(pool.map(one, names))
    return clean, rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutants.matrix", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON (default %(default)s)")
    parser.add_argument(
        "--fault", action="append", choices=sorted(faults.REGISTRY), help="only this fault (repeatable)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="suite runs at a time (default %(default)s)")
    parser.add_argument("--patience", type=float, default=PATIENCE, help="seconds (default %(default)s)")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    parser.add_argument(
        "--no-caught-by",
        action="store_true",
        help="skip the runs of the state machines alone that fill the 'caught by' column",
    )
    args = parser.parse_args(argv)
    names = args.fault or list(faults.REGISTRY)
    workdir = args.out.parent / "mutants"
    started = time.monotonic()
    clean, rows = run_matrix(
        names,
        workdir,
        jobs=args.jobs,
        patience=args.patience,
        progress=lambda line: print(line, file=sys.stderr),
        caught_by=not args.no_caught_by,
    )
    data = report(rows, clean, args.patience)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    print(table(rows))
    print()
    print(f"clean replica: {'passed' if clean.passed else 'FAILED: ' + ', '.join(clean.cited)}")
    print(f"caught {data['caught']} of {data['total']} faults with their own rule ({time.monotonic() - started:.0f} s)")
    if not args.no_caught_by:
        share = data["caught_by_machines"] / max(1, data["total"])
        print(f"caught by the state machines alone: {data['caught_by_machines']} of {data['total']} ({share:.0%})")
    if not args.fault:
        print("unproven checks (no fault's run cited them): " + (", ".join(data["unproven"]) or "none"))
    if args.markdown:
        print()
        print(markdown(rows))
    print(f"report: {args.out}")
    return 0 if clean.passed and data["caught"] == data["total"] else 1


def _short_test(nodeid: str) -> str:
    return nodeid.rsplit("::", 1)[-1]


if __name__ == "__main__":
    sys.exit(main())
