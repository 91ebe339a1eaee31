"""The suite's own test modules, collected by the plugin (`pytest --replica-addr X`).

They live inside the package so that an installed suite can run them:
`pytest --pyargs conformance.suite --replica-addr X` works as well.
"""

from pathlib import Path

SUITE_DIR = Path(__file__).resolve().parent
