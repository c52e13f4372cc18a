"""Fixed dev/test splits and the low-resource sampler.

Dev and test depend only on the dataset's fixed ``split_seed``, never on the training fraction
or the training seed; the training sample depends on (fraction, data_seed) only.
"""

from __future__ import annotations

import numpy as np

from gpta.data.spec import Example, Splits
from gpta.errors import UserError

SPLIT_SEED = 20240329  # fixed for every dataset whose local copy lacks official splits (ours)
# How a fraction becomes a sample size (stated in README and recorded in every result).
N_TRAIN_RULE = ("n = round(fraction x pool size) with Python's round (halves go to the even "
                "number: 0.005 x 500 = 2.5 gives 2, 0.005 x 700 = 3.5 gives 4), at least one per class; classes get "
                "largest-remainder shares of n; fraction 1 = the whole pool")


def stratified_split(
    examples: list[Example], n_take: int, seed: int, name: str = "split"
) -> tuple[list[Example], list[Example]]:
    """Split off ``n_take`` examples stratified by label: (taken, rest). Deterministic."""
    if n_take <= 0 or n_take >= len(examples):
        raise UserError(f"{name}: cannot take {n_take} of {len(examples)} examples")
    labels = np.array([e.label for e in examples])
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quota = _largest_remainder(counts * n_take / len(examples), n_take)
    taken_idx: list[int] = []
    for cls, q in zip(classes, quota):
        idx = np.flatnonzero(labels == cls)
        taken_idx.extend(rng.permutation(idx)[:q].tolist())
    taken = set(taken_idx)
    taken_sorted = sorted(taken_idx)
    return [examples[i] for i in taken_sorted], [e for i, e in enumerate(examples) if i not in taken]


def _largest_remainder(shares: np.ndarray, total: int) -> np.ndarray:
    base = np.floor(shares).astype(int)
    order = np.argsort(-(shares - base), kind="stable")
    base[order[: total - base.sum()]] += 1
    return base


def sample_fraction(
    pool: list[Example], fraction: float, data_seed: int, label_names: list[str]
) -> list[Example]:
    """``fraction`` of the pool, stratified, seeded by ``data_seed``, >= 1 example per class."""
    if not (0 < fraction <= 1):
        raise UserError(f"--fraction {fraction}: must be in (0, 1]")
    if fraction == 1:
        return list(pool)
    labels = np.array([e.label for e in pool])
    present = set(labels.tolist())
    missing = [label_names[i] for i in range(len(label_names)) if i not in present]
    if missing:
        raise UserError(f"the train pool has no example of class(es) {', '.join(missing)}")
    n = int(round(fraction * len(pool)))
    if n < len(label_names):
        raise UserError(
            f"--fraction {fraction} gives {n} training examples of {len(pool)} for "
            f"{len(label_names)} classes; need at least one per class (fraction >= "
            f"{len(label_names) / len(pool):.4g})"
        )
    rng = np.random.default_rng(data_seed)
    classes, counts = np.unique(labels, return_counts=True)
    quota = _largest_remainder(counts * n / len(pool), n)
    # at least one per class: take the missing ones from the largest quotas
    while (quota == 0).any():
        quota[np.argmin(quota)] += 1
        quota[np.argmax(quota)] -= 1
    chosen: list[int] = []
    for cls, q in zip(classes, quota):
        idx = np.flatnonzero(labels == cls)
        chosen.extend(rng.permutation(idx)[:q].tolist())
    return [pool[i] for i in sorted(chosen)]


def true_few_shot_dev(pool: list[Example], train: list[Example], data_seed: int,
                      label_names: list[str]) -> list[Example]:
    """A dev set as small as the training sample: drawn from the pool minus the training sample,
    ``len(train)`` examples (stratified like the sample for classification; uniform questions
    for QA), seeded by ``data_seed`` (its own stream, so the training sample is unchanged)."""
    taken = {id(e) for e in train}
    rest = [e for e in pool if id(e) not in taken]
    n = len(train)
    if n > len(rest):
        raise UserError(f"train.dev_protocol=true-few-shot: the pool has {len(rest)} examples left after "
                        f"the {n}-example training sample; need {n} for dev (use a smaller --fraction)")
    seed = data_seed + 7919  # a different stream from the training sample's
    if not label_names:
        return sample_qa_fraction(rest, n / len(rest), seed) if n < len(rest) else list(rest)
    return sample_fraction(rest, n / len(rest), seed, label_names) if n < len(rest) else list(rest)


def sample_qa_fraction(pool: list[Example], fraction: float, data_seed: int) -> list[Example]:
    """QA has no classes: a seeded uniform sample of questions, at least one."""
    if not (0 < fraction <= 1):
        raise UserError(f"--fraction {fraction}: must be in (0, 1]")
    n = max(1, int(round(fraction * len(pool))))
    rng = np.random.default_rng(data_seed)
    return [pool[i] for i in sorted(rng.permutation(len(pool))[:n].tolist())]


def fixed_splits(
    examples: list[Example], n_dev: int, n_test: int, seed: int = SPLIT_SEED
) -> tuple[list[Example], list[Example], list[Example]]:
    """(pool, dev, test) from one labelled set: stratified, seeded by a fixed split seed."""
    test, rest = stratified_split(examples, n_test, seed, "test split")
    dev, pool = stratified_split(rest, n_dev, seed + 1, "dev split")
    return pool, dev, test


def duplicate_key(e: Example) -> tuple[str, str | None]:
    """Texts are the same if equal up to case and whitespace (QA: question and context)."""
    return " ".join(e.text.lower().split()), e.context


def drop_cross_split_duplicates(splits: Splits) -> Splits:
    """Remove exact duplicates across splits, in place; counts go to ``splits.extra``.

    A pool example whose text (up to case and whitespace) is in dev or test is removed from the
    pool, so no training sample can hold a text scored later; a dev example whose text is in
    test is removed from dev. Test is never changed. (TREC.train holds 10 of TREC.test's
    questions and 12 of the dev split's; yelp 2 test and 1 dev sentence; sst2 2 test sentences.)
    """
    test_keys = {duplicate_key(e) for e in splits.test}
    dev_keys = {duplicate_key(e) for e in splits.dev}
    in_test = [duplicate_key(e) in test_keys for e in splits.pool]
    in_dev = [duplicate_key(e) in dev_keys and not t for e, t in zip(splits.pool, in_test)]
    dev_in_test = [duplicate_key(e) in test_keys for e in splits.dev]
    pool_test = {duplicate_key(p) for p, t in zip(splits.pool, in_test) if t}
    pool_dev = {duplicate_key(p) for p, d in zip(splits.pool, in_dev) if d}
    counts = {
        "pool_removed_in_test": int(sum(in_test)),  # pool rows whose text is a test text
        "pool_removed_in_dev": int(sum(in_dev)),  # ... a dev text (and not a test text)
        "dev_removed_in_test": int(sum(dev_in_test)),
        "test_texts_in_pool": sum(duplicate_key(e) in pool_test for e in splits.test),
        "dev_texts_in_pool": sum(duplicate_key(e) in pool_dev for e in splits.dev),
        "rule": "exact duplicates up to case and whitespace: removed from the pool if in dev or test, "
                "from dev if in test; test unchanged",
    }
    splits.pool = [e for e, t, d in zip(splits.pool, in_test, in_dev) if not (t or d)]
    splits.dev = [e for e, t in zip(splits.dev, dev_in_test) if not t]
    splits.extra["cross_split_duplicates"] = counts
    return splits


def subset(examples: list, cap: int, seed: int) -> list:
    """At most ``cap`` examples (0 = all), a seeded subset in the original order: how dev and test
    are capped (train.dev_max, train.test_max; seed 0) and llm-zero-shot's options.max_eval."""
    if not cap or len(examples) <= cap:
        return examples
    keep = np.random.default_rng(seed).permutation(len(examples))[:cap]
    return [examples[i] for i in sorted(keep)]
