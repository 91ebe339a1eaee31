"""The legal-variant matrix: the conformance suite passes every legal variant of the replica.

The mirror of the kill matrix (`tests/mutants`). Each run is the suite exactly as the kill
matrix runs the clean replica (ci profile, derandomized, strict, stop at the first failure),
against a reference replica with several compatible variants on at once
(`--variant A --variant B ...`, grouped by `matrix.compose`), and must PASS with no warning.
`make variants` runs every variant alone instead, and its report says which MAY rules are
proven both ways.

Cost: each group is one ci run of the suite (about a minute and a half on the project's
2-core machine), so the groups are few; composing them also tests that the freedoms combine.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reference_replica import variants
from tests.mutants import suite_run
from tests.variants import matrix

pytestmark = pytest.mark.slow

GROUPS = matrix.compose(list(variants.REGISTRY), matrix.GROUPS)
KEEP = suite_run.ROOT / "conformance-artifacts" / "variants-failures"


@pytest.mark.parametrize("names", GROUPS, ids=[f"group{i + 1}" for i in range(len(GROUPS))])
def test_the_suite_passes_legal_variants(names: list[str], tmp_path: Path) -> None:
    row = matrix.run_one(names, tmp_path)
    if not row.passed:  # keep what the run saved where a CI job can pick it up (tmp dirs rotate)
        kept = KEEP / f"group-of-{len(names)}-{names[0]}"
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(tmp_path, kept)
    assert row.passed, f"the suite rejects legal variants {', '.join(names)}: {row.problem} (artifacts: {KEEP})"
