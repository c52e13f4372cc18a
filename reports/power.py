"""Power analysis for a design: the minimum detectable effect (MDE) of the scorecard's tests.

The same computations the scorecard prints after a run (``reports.stats.mde_signflip``, the
pooled sign-flip test simulated, and ``mde_paired``, the noncentral t), applied before it to an
assumed seed-pair SD (the same in every dataset), so a suite can be sized by them:

- claim 1 (pooled gain): the mean over D datasets of each dataset's mean over F fractions x S
  seeds of paired gains; SE = sqrt(sum_d sd^2 / (F S)) / D.
- claim 2 (low minus high fraction): per dataset S paired differences of two gains, each
  difference with SD sqrt(2) x sd; SE = sqrt(sum_d 2 sd^2 / S) / D.
- per cell (one dataset and fraction, the tables' family): paired t-test over S seeds.

The level is the claims family's strictest Holm step, alpha / m (m = primary tests in the
family), and the per-cell family's alpha / (cells); power 80%.

    python -m reports.power --sd 0.03 --datasets 6 --fractions 2 --family 9
"""

from __future__ import annotations

import argparse
import math

from reports.stats import ALPHA, POWER, mde_paired, mde_signflip


def mde_claim1(sd: float, datasets: int, fractions: int, seeds: int, family: int) -> float:
    return mde_signflip([sd] * datasets, [fractions * seeds] * datasets, ALPHA / family)


def mde_claim2(sd: float, datasets: int, seeds: int, family: int) -> float:
    return mde_signflip([math.sqrt(2) * sd] * datasets, [seeds] * datasets, ALPHA / family)


def mde_cell(sd: float, seeds: int, cells: int) -> float:
    return mde_paired(sd, seeds, ALPHA / cells)


def table(sd: float, datasets: int, fractions: int, family: int, cells_per_dataset: int,
          seeds_list=(3, 4, 5)) -> list[str]:
    cells = datasets * fractions * cells_per_dataset
    lines = [f"seed-pair SD of the gain {100 * sd:.1f} points; {datasets} datasets x {fractions} fractions; "
             f"claims family m = {family}; per-cell family {cells} tests; power {POWER:.0%}",
             "seeds | claim 1 pooled MDE | claim 2 MDE | per-cell MDE (points)"]
    for s in seeds_list:
        lines.append(f"{s:5d} | {100 * mde_claim1(sd, datasets, fractions, s, family):18.1f} | "
                     f"{100 * mde_claim2(sd, datasets, s, family):11.1f} | {100 * mde_cell(sd, s, cells):.1f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reports.power", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sd", type=float, default=0.03, help="seed-pair SD of the gain (accuracy, 0-1)")
    ap.add_argument("--datasets", type=int, default=6)
    ap.add_argument("--fractions", type=int, default=2)
    ap.add_argument("--family", type=int, default=9, help="primary tests in the claims family (the verdict run's: 9)")
    ap.add_argument("--arms", type=int, default=3, help="arms compared with finetune per (dataset, fraction)")
    a = ap.parse_args(argv)
    print("\n".join(table(a.sd, a.datasets, a.fractions, a.family, a.arms)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
