"""``gpta data prepare DIR`` and ``gpta data check DIR``: the six benchmarks' files, verified.

``prepare`` writes each file from its pinned public source (or from files you downloaded,
``--from FOLDER``), checked against the sha256 recorded in gpta/data/manifest.py (listed with
sources, licences and protocols in docs/DATA.md). ``check`` verifies a folder against the same
hashes: exit 0 when every requested dataset is complete and unchanged, 2 otherwise.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from gpta.errors import UserError


def _datasets(names: list[str] | None) -> list[str]:
    from gpta.data.manifest import DATASETS

    names = names or DATASETS
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        raise UserError(f"--datasets {unknown[0]!r}: not a benchmark with files; choose from {', '.join(DATASETS)}")
    return names


def cmd_prepare(args: argparse.Namespace) -> int:
    from gpta.context import check_out_dir
    from gpta.data.manifest import prepare

    dest = check_out_dir(args.dir, "DIR")
    source = Path(args.source).expanduser() if args.source else None
    if source is not None and not source.is_dir():
        raise UserError(f"--from {source}: not a folder")
    done = prepare(dest, _datasets(args.datasets), source=source, base=args.base_url)
    for f, what in done:
        print(f"{f.dataset:8} {f.path}: {what} (sha256 {f.sha256[:12]}...)")
    print(f"data prepare: {len(done)} files in {dest}; use them with GPTA_DATA_DIR={dest.resolve()}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from gpta.data.manifest import check_dir, files_of

    root = Path(args.dir).expanduser()
    if root.is_file():
        raise UserError(f"{root}: is a file; `gpta data check` takes the data folder (the one GPTA_DATA_DIR "
                        f"names, holding sst2/, trec/, ...)")
    if not root.is_dir():
        raise UserError(f"{root}: no such folder; `gpta data prepare {root}` creates it with the benchmark files")
    report = check_dir(root, _datasets(args.datasets))
    bad = {ds: problems for ds, problems in report.items() if problems}
    for ds, problems in report.items():
        n = len(files_of(ds))
        print(f"{ds:8} {'ok' if not problems else 'BAD'}: " + ("; ".join(problems) if problems else
                                                                 f"{n} file{'s' if n > 1 else ''}, sha256 as recorded"))
    if bad:
        raise UserError(f"{root}: {len(bad)} of {len(report)} datasets incomplete or changed "
                        f"({', '.join(bad)}); run `gpta data prepare {root}`")
    print(f"data check: all {len(report)} datasets in {root} match the recorded sha256")
    return 0


def register(sub) -> None:
    p = sub.add_parser("data", help="prepare or check the six benchmarks' files (sha256-verified)")
    data_sub = p.add_subparsers(dest="data_command", required=True)
    pr = data_sub.add_parser("prepare", help="download (or copy --from a folder) and verify the benchmark files")
    pr.add_argument("dir", metavar="DIR", help="the data folder to write (then GPTA_DATA_DIR=DIR)")
    pr.add_argument("--from", dest="source", default=None, metavar="FOLDER",
                    help="files you downloaded yourself (by name, or in the DIR layout) instead of downloading")
    pr.add_argument("--datasets", type=lambda t: [x.strip() for x in t.split(",") if x.strip()], default=None,
                    help="only these (comma-separated); default all six")
    pr.add_argument("--base-url", default="https://raw.githubusercontent.com", help=argparse.SUPPRESS)
    pr.set_defaults(func=cmd_prepare)
    ck = data_sub.add_parser("check", help="verify a data folder against the recorded sha256")
    ck.add_argument("dir", metavar="DIR")
    ck.add_argument("--datasets", type=lambda t: [x.strip() for x in t.split(",") if x.strip()], default=None)
    ck.set_defaults(func=cmd_check)
