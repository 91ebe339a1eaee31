"""The legal-variant matrix as a report: `python -m tests.variants.matrix` (what `make variants` runs).

The mirror of the kill matrix (`tests.mutants.matrix`): for every legal variant of the
reference replica (`reference_replica.variants`) it runs the conformance suite against the
replica with that variant on, exactly as the kill matrix runs its clean replica (ci profile,
derandomized, strict, stop at the first failure, see `tests.mutants.suite_run`), and requires
PASS with no warning. It prints a table (variant, what it exercises, verdict, seconds) and
writes it as JSON (default `conformance-artifacts/variants-report.json`), with the MAY rules of
the spec each passing variant *proves* (took the rule's other branch and passed) and those no
passing variant proved.

    python -m tests.variants.matrix                          # every variant alone, 2 runs at a time
    python -m tests.variants.matrix --variant slow-cancel    # just these (repeatable)
    python -m tests.variants.matrix --groups 3               # composed groups instead (what `make test` runs)

Exit status: 0 when every run passed with no warning.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from conformance.rules import RULES
from reference_replica import variants
from tests.mutants import suite_run
from tests.mutants.suite_run import PATIENCE, PROFILE, SuiteRun

DEFAULT_OUT = Path("conformance-artifacts") / "variants-report.json"
GROUPS = 2
"""How many composed replicas `make test` runs: each is one ci run of the suite."""

UNPROVABLE: dict[str, str] = {
    "MULTI-2": "it is about replicas of several processes; the reference replica is a single process",
}
"""MAY rules no variant of a single-process reference replica can take the other way, and why."""


@dataclass(frozen=True)
class Row:
    """One run of the matrix: a variant alone, or a group of compatible ones."""

    variants: list[str]
    exercises: str
    passed: bool  # the suite passed, with no warning and no failure saved
    seconds: float
    cited: list[str]  # rules the run's failures cite (empty when it passed)
    warnings: list[str]  # SHOULD rules the report lists as warnings
    problem: str = ""

    @property
    def name(self) -> str:
        return " + ".join(self.variants)


def permissions() -> list[str]:
    """The MAY rules of the spec."""
    return [r.id for r in RULES.values() if r.level == "MAY"]


def proven(rows: Iterable[Row]) -> dict[str, list[str]]:
    """Each MAY rule, with the variants that took its other branch in a run that passed."""
    out: dict[str, list[str]] = {rule: [] for rule in permissions()}
    for row in rows:
        if not row.passed:
            continue
        for name in row.variants:
            for rule in variants.REGISTRY[name].permissions:
                if name not in out.setdefault(rule, []):
                    out[rule].append(name)
    return out


def compose(names: Sequence[str], groups: int) -> list[list[str]]:
    """Split `names` into at most `groups` groups of mutually compatible variants, as even as the
    conflicts allow (each variant goes to the smallest group it does not conflict with)."""
    out: list[list[str]] = [[] for _ in range(max(1, groups))]
    for name in names:
        fits = [g for g in out if variants.compatible([*g, name])]
        if not fits:
            out.append([name])
            continue
        min(fits, key=len).append(name)
    return [g for g in out if g]


def judge(names: Sequence[str], run: SuiteRun) -> Row:
    report = _report(run)
    warned = [line["id"] for line in report.get("rules", []) if line.get("status") == "warning"]
    problems = []
    if run.exit_code != 0:
        problems.append(f"the suite failed (exit status {run.exit_code})")
    if run.failures:
        problems.append(f"it saved {len(run.failures)} failure(s) citing {', '.join(run.cited) or 'no rule'}")
    if report.get("verdict") != "pass":
        problems.append(f"the report's verdict is {report.get('verdict', 'missing')!r}")
    if warned:
        problems.append(f"warnings: {', '.join(warned)}")
    exercises = "; ".join(variants.REGISTRY[n].exercises for n in names)
    return Row(list(names), exercises, not problems, round(run.seconds, 1), run.cited, warned, "; ".join(problems))


def run_one(names: Sequence[str], workdir: Path, *, patience: float = PATIENCE) -> Row:
    artifacts = workdir / (names[0] if len(names) == 1 else f"group-of-{len(names)}-{names[0]}")
    command = suite_run.suite_command(None, artifacts, patience=patience, variants=names)
    return judge(names, suite_run.execute(command, None, artifacts))


def run_matrix(
    runs: Sequence[Sequence[str]],
    workdir: Path,
    *,
    jobs: int = 2,
    patience: float = PATIENCE,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Row]:
    def one(names: Sequence[str]) -> Row:
        row = run_one(names, workdir, patience=patience)
        progress(f"{row.name}: {'PASS' if row.passed else 'FAIL: ' + row.problem} ({row.seconds:g} s)")
        return row

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, runs))


def report(rows: list[Row], patience: float) -> dict[str, Any]:
    proofs = proven(rows)
    return {
        "profile": PROFILE,
        "patience_s": patience,
        "command": " ".join(suite_run.suite_command(None, Path("ARTIFACTS"), patience=patience, variants=["NAME"])[1:]),
        "runs": [{**asdict(r), "name": r.name} for r in rows],
        "passed": sum(r.passed for r in rows),
        "total": len(rows),
        "permissions": {
            rule: {"proven": bool(by), "by": by, "unprovable": UNPROVABLE.get(rule, "")}
            for rule, by in proofs.items()
        },
        "unproven": [rule for rule, by in proofs.items() if not by and rule not in UNPROVABLE],
    }


def table(rows: list[Row]) -> str:
    header = ("variant", "exercises", "verdict", "s", "problem")
    lines = [header]
    for r in rows:
        lines.append((r.name, r.exercises, "PASS" if r.passed else "FAIL", f"{r.seconds:.0f}", r.problem or "-"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def markdown(rows: list[Row]) -> str:
    """The table as the README shows it."""
    out = ["| variant | exercises | verdict | s |", "|---|---|---|---|"]
    for r in rows:
        names = " + ".join(f"`{n}`" for n in r.variants)
        verdict = "PASS" if r.passed else f"**FAIL** ({r.problem})"
        out.append(f"| {names} | {r.exercises} | {verdict} | {r.seconds:.0f} |")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.variants.matrix", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON (default %(default)s)")
    parser.add_argument(
        "--variant", action="append", choices=sorted(variants.REGISTRY), help="only this variant (repeatable)"
    )
    parser.add_argument("--groups", type=int, default=0, help="run N composed groups instead of one run each")
    parser.add_argument("--jobs", type=int, default=2, help="suite runs at a time (default %(default)s)")
    parser.add_argument("--patience", type=float, default=PATIENCE, help="seconds (default %(default)s)")
    parser.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    args = parser.parse_args(argv)
    names = args.variant or list(variants.REGISTRY)
    runs = compose(names, args.groups) if args.groups else [[n] for n in names]
    started = time.monotonic()
    rows = run_matrix(
        runs,
        args.out.parent / "variants",
        jobs=args.jobs,
        patience=args.patience,
        progress=lambda line: print(line, file=sys.stderr),
    )
    data = report(rows, args.patience)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    print(table(rows))
    print()
    print(f"{data['passed']} of {data['total']} runs passed with no warning ({time.monotonic() - started:.0f} s)")
    if not args.variant:
        proofs = data["permissions"]
        done = [rule for rule, p in proofs.items() if p["proven"]]
        print(f"MAY rules proven both ways ({len(done)} of {len(proofs)}): {', '.join(done) or 'none'}")
        print("unproven permissions: " + (", ".join(data["unproven"]) or "none"))
        for rule, why in UNPROVABLE.items():
            print(f"  {rule} is not provable here: {why}")
    if args.markdown:
        print()
        print(markdown(rows))
    print(f"report: {args.out}")
    return 0 if data["passed"] == data["total"] else 1


def _report(run: SuiteRun) -> dict[str, Any]:
    artifacts = _artifacts(run)
    try:
        data: dict[str, Any] = json.loads((artifacts / "conformance-report.json").read_text())
    except (OSError, ValueError):
        return {}
    return data


def _artifacts(run: SuiteRun) -> Path:
    command = run.command
    return Path(command[command.index("--conformance-artifacts") + 1])


if __name__ == "__main__":
    sys.exit(main())
