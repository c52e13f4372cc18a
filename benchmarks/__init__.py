"""pytest-benchmark cost comparisons (`tox -e bench`); not part of the default test command."""
