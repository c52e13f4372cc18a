"""Sweeps: a suite file (data) expands into cells; a runner executes the cells that are not done.

- ``suite``: read and check a suite YAML, apply command-line overrides, expand it into cells.
- ``estimate``: the seconds a cell should take (a small cost model, corrected by finished cells).
- ``worker``: run one cell in whatever process an executor gives it; never raises.
- ``executors``: in-process, local worker processes, or a Ray cluster.
- ``table``: the consolidated results table (Parquet + CSV).
- ``runner``: lock, resume, failure records, progress, stages.
"""
