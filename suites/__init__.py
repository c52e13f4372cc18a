"""Suite files (YAML data, read by gpta/sweep/suite.py): ``gpta sweep quick`` or ``gpta sweep suites/quick.yaml``."""
