"""Every upstream reference of the spec resolves in docs/upstream.md (issue 9).

The spec's *Upstream* column links each reference (R1..R99, A1..A24, U1..U10, H1) to an entry
of docs/upstream.md that names upstream's file and item at the pinned commit; a reference with
no entry, an entry with no file, or a registry rule whose references differ from the spec's
would leave a reader at a dead end.
"""

from __future__ import annotations

import re
from pathlib import Path

from conformance.rules import RULES

DOCS = Path(__file__).resolve().parents[2] / "docs"
_ROW = re.compile(r"^\| ([A-Z]+-\d+) \|")
_REF = re.compile(r"\b([RAUH]\d+)\b")


def spec_upstream_cells() -> dict[str, str]:
    cells = {}
    for line in (DOCS / "spec.md").read_text(encoding="utf-8").splitlines():
        if m := _ROW.match(line):
            cells[m.group(1)] = [c.strip() for c in line.strip().strip("|").split("|")][4]
    return cells


def entries() -> dict[str, str]:
    """Entry id -> its text (everything up to the next heading)."""
    text = (DOCS / "upstream.md").read_text(encoding="utf-8")
    parts = re.split(r"^#### ([RAUH]\d+)\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_cited_reference_has_an_entry_with_a_file() -> None:
    known = entries()
    cited = {ref for cell in spec_upstream_cells().values() for ref in _REF.findall(cell)}
    assert len(cited) > 90
    missing = sorted(cited - known.keys())
    assert not missing, f"cited in spec.md but not resolved in upstream.md: {missing}"
    for ref, text in known.items():
        assert re.search(r"`src/[\w/.-]+\.rs`", text), f"{ref}: no upstream file named"


def test_every_ambiguity_decided_in_section_16_has_an_entry() -> None:
    assert {f"A{i}" for i in range(1, 25)} <= entries().keys()


def test_the_column_links_every_reference_to_its_entry() -> None:
    for rule_id, cell in spec_upstream_cells().items():
        for ref in _REF.findall(cell):
            assert f"[{ref}](upstream.md#{ref.lower()})" in cell, f"{rule_id}: {ref} is not linked"


def test_the_registry_names_the_same_references() -> None:
    for rule_id, cell in spec_upstream_cells().items():
        in_spec = set(_REF.findall(cell))
        in_registry = {ref for refs in RULES[rule_id].upstream for ref in _REF.findall(refs)}
        assert in_spec == in_registry, f"{rule_id}: spec {sorted(in_spec)} vs registry {sorted(in_registry)}"
