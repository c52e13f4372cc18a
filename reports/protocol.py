"""The declared primary analysis: the one place a report's claims, tables and figures take it from.

These are our choices (the paper's full text is not available); each is named in the scorecard.

- **The paper's arm.** GPTA as the paper describes it: one reply per round, always adopted
  (``gpta.candidates = 1``, ``gpta.adopt = always``). Every claim is decided on this arm only.
  Other GPTA settings (the K=4 if-better search, weights=restart, ...) are ablations: reported
  beside, never pooled into a claim.
- **The paper's datasets.** Claims 1-3 count only the paper's six benchmarks; other datasets are
  shown, not counted.
- **Low and high resource.** Per dataset, "low" is the smallest fraction present and "high" the
  largest; claim 2 needs high >= ``HIGH_OVER_LOW`` x low, claim 3 is read at "low".
- **Protocols, co-primary.** ``fixed`` (the dataset's labelled dev split selects checkpoints and
  prefixes) and ``true-few-shot`` (a dev set drawn from the pool, disjoint from train and no larger
  than it). Each claim is decided per protocol present; the scorecard names the protocol.
- **Three families of corrected tests.** (1) The claims' primary tests: one pooled test per claim,
  protocol and LLM, Holm-corrected together: the scorecard's verdicts read these. (2) The
  per-cell comparisons: every (dataset, fraction, arm) against finetune, Holm-corrected together:
  every table and caption that shows a per-cell p reads this one family, so the same comparison
  never has two corrected p-values in one report. (3) The controls' pooled steps
  (``reports/controls.py``: layout, text, dialogue), Holm-corrected together: they say what a
  difference is due to and decide no claim.
- **Claim 4 is a non-inferiority claim.** "Cost-efficient" needs GPTA cheaper and its accuracy
  shown to be no more than ``NONINFERIORITY_MARGIN`` below the alternative's (a one-sided test
  of difference + margin > 0): absence of evidence of a loss is not evidence of no loss.
- **Minimum evidence.** Below it a claim says "not measured: <what is missing>", never a verdict
  word. A run with fewer than ``MIN_SEEDS`` seeds in any compared cell is a smoke run: no verdict.
"""

from __future__ import annotations

from typing import Any

from gpta.config import SECTIONS, GPTAConfig

# The config section that holds the GPTA loop's settings (gpta.config), not a method name.
LOOP_SECTION = next(name for name, cls in SECTIONS.items() if cls is GPTAConfig)

PAPER_DATASETS = ("sst2", "ag_news", "trec", "yelp", "twitter", "squad")  # the paper's six benchmarks
PAPER_ARM = {"candidates": 1, "adopt": "always"}  # gpta.* settings of the paper's method
PROTOCOLS = ("fixed", "true-few-shot")  # co-primary dev protocols
MIN_SEEDS = 3  # seeds per compared cell; fewer: smoke run, no test, no interval
MIN_PAPER_DATASETS = 3  # claims 1-3: at least this many of the paper's datasets
HIGH_OVER_LOW = 4.0  # claim 2: the highest fraction is at least 4x the lowest
MIN_CORR_RUNS = 10  # claim 5: GPTA runs with a defined LLM accuracy, in strata of >= 3 runs
MIN_RUNS_A_SIDE = 3  # claim 4: accuracy compared only with >= 3 runs a side
PREDICTIONS = 1000  # claim 4: cost per 1,000 predictions
NONINFERIORITY_MARGIN = 0.02  # claim 4: GPTA's accuracy may be at most 2 points below the LLM's (shown, tested)
# What a grid that would decide a claim left "not significant at this n" or "not measured" is sized
# for (our choices, printed with it): claims 1-2 the verdict issue's aim, 2 accuracy points; claim 3
# 0.05 nats of test-minus-train loss (a 5% change in the likelihood ratio per test item); claim 5 a
# Spearman rho of 0.5. At 80% power and the claims family's strictest Holm level.
TARGET_POINTS = 0.02
TARGET_NATS = 0.05
TARGET_RHO = 0.5
FAMILY_CLAIMS = "claims' primary tests"
FAMILY_CELLS = "per-cell comparisons with finetune"
FAMILY_CONTROLS = "controls' pooled steps"  # reports/controls.py: layout, text, dialogue; read by no claim


def protocol_of(result: dict[str, Any]) -> str:
    """The dev protocol a result ran under (``fixed`` when the result predates the setting)."""
    cfg = result.get("config") or {}
    return str((cfg.get("train") or {}).get("dev_protocol") or "fixed")


def is_paper_arm(result: dict[str, Any]) -> bool:
    """Whether a GPTA result ran the paper's arm (K = 1, always adopt)."""
    g = loop_settings(result)
    return all(g.get(k, v) == v for k, v in PAPER_ARM.items())


def paper_arm_text() -> str:
    return ", ".join(f"gpta.{k} = {v}" for k, v in PAPER_ARM.items())


def loop_settings(result: dict[str, Any]) -> dict[str, Any]:
    """The GPTA loop's settings a result ran with ({} when it records none)."""
    g = (result.get("config") or {}).get(LOOP_SECTION)
    return g if isinstance(g, dict) else {}
