"""Suite files (YAML data, read by gpta/sweep/suite.py): ``gpta sweep quick`` or ``gpta sweep suites/quick.yaml``."""

from pathlib import Path

SUITES_DIR = Path(__file__).resolve().parent


def path(name: str) -> Path:
    """The shipped suite file for a name (``quick`` -> suites/quick.yaml)."""
    return SUITES_DIR / f"{name}.yaml"
