"""Twin pairs: a fake ranked above its own real twin, drawn into the same batch.

DFDC's manifest pairs each face-swapped crop with the real crop of the same source video: the
same scene, camera and compression, with only the face region changed (mean absolute pixel
difference 4-36 over 40 pairs checked). Binary cross-entropy on independently drawn crops can
lean on scene cues that happen to differ between real and fake videos; a loss on the difference
of a pair's two logits cannot, because everything the two crops share cancels.

:func:`twin_index` finds the pairs (a group holding exactly one real and one fake sample),
:func:`pair_batch` turns every second eligible draw of a batch into a view of the previous
eligible draw's twin (the batch size, and so the compute, is unchanged, and because twinning is a
bijection on paired samples, each sample's chance of being drawn is unchanged too), and
:func:`pair_loss` is the mean ``softplus(z_real - z_fake)`` over the pairs.

Measured on the v9 recipe (docs/experiments/2026-12-01-v16-twin-ranking-loss.md): at weight 1.0
every ranking figure fell (DFDC test AUC 0.917 -> 0.905) and the test pairs were ranked no better,
so the loss is off by default. :func:`twin_ranking` (``research/twin_probe.py``) is the measurement
behind it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from train.labelled import Sample


def twin_index(samples: Sequence[Sample]) -> np.ndarray:
    """For each sample, the index of its twin (-1 where it has none).

    Two samples are twins when they share a non-empty group key and that group holds exactly
    those two, one real and one fake (DFDC's ``source_video`` pairs). Groups of any other shape
    (an LFW person with many real photos) pair nothing.
    """
    members: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(samples):
        if s.group:
            members[s.group].append(i)
    twins = np.full(len(samples), -1, np.int64)
    for idx in members.values():
        if len(idx) == 2 and {samples[idx[0]].label, samples[idx[1]].label} == {0, 1}:
            twins[idx[0]], twins[idx[1]] = idx[1], idx[0]
    return twins


@dataclass(frozen=True)
class ViewIndex:
    """Where each sample's augmented (not self-blended) views lie in a view cache.

    Attributes:
        entries: cache entry numbers of the non-SBI views, grouped by sample.
        start: per sample, its first position in ``entries``.
        count: per sample, how many views it has there.
    """

    entries: np.ndarray
    start: np.ndarray
    count: np.ndarray

    @classmethod
    def of(cls, cache_sample: np.ndarray, cache_sbi: np.ndarray, n_samples: int) -> ViewIndex:
        """Index a cache's ``sample`` and ``sbi`` arrays (entries need not be in order)."""
        plain = np.flatnonzero(~np.asarray(cache_sbi, bool))
        owner = np.asarray(cache_sample)[plain]
        order = np.argsort(owner, kind="stable")
        entries, owner = plain[order], owner[order]
        ids = np.arange(n_samples)
        start = np.searchsorted(owner, ids, "left")
        count = np.searchsorted(owner, ids, "right") - start
        return cls(entries, start, count)

    def random_view(self, sample: int, rng: np.random.Generator) -> int:
        """One of ``sample``'s views, uniformly."""
        n = int(self.count[sample])
        if n == 0:
            raise ValueError(f"sample {sample} has no augmented view in the cache")
        return int(self.entries[self.start[sample] + rng.integers(n)])


def pair_batch(
    batch: np.ndarray,
    cache_sample: np.ndarray,
    cache_sbi: np.ndarray,
    cache_label: np.ndarray,
    twins: np.ndarray,
    views: ViewIndex,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Pair up a batch of drawn cache entries with their twins.

    The eligible draws (a plain view of a sample that has a twin) are taken in batch order;
    the second of each consecutive two is replaced by a random view of the first's twin.

    Returns:
        (entries, pairs): the new batch (same length) and an (P, 2) array of batch positions,
        the real view's first and the fake view's second.
    """
    out = np.array(batch, copy=True)
    owner = np.asarray(cache_sample)[out]
    eligible = np.flatnonzero((twins[owner] >= 0) & ~np.asarray(cache_sbi, bool)[out])
    # [0:-1:2] drops an odd last draw, which stays unpaired: both slices have equal length.
    firsts, seconds = eligible[0:-1:2], eligible[1::2]
    for a, b in zip(firsts, seconds, strict=True):
        out[b] = views.random_view(int(twins[owner[a]]), rng)
    fake_first = np.asarray(cache_label)[out[firsts]] == 1
    real = np.where(fake_first, seconds, firsts)
    fake = np.where(fake_first, firsts, seconds)
    return out, np.stack([real, fake], axis=1).astype(np.int64)


def pair_loss(logits, pairs: np.ndarray):
    """Mean ``softplus(z_real - z_fake)`` over the pairs (a torch scalar; 0 without pairs).

    Zero-margin logistic ranking: its gradient is largest on pairs ranked the wrong way round
    and fades on pairs already far apart, so it adds little once BCE has separated a pair.
    """
    import torch

    if len(pairs) == 0:
        return logits.sum() * 0.0
    p = torch.as_tensor(pairs, device=logits.device)
    return torch.nn.functional.softplus(logits[p[:, 0]] - logits[p[:, 1]]).mean()


@dataclass(frozen=True)
class TwinRanking:
    """How a detector ranks each fake against its own real twin (one source's test pairs).

    Attributes:
        pairs: twin pairs scored.
        pair_accuracy: share of pairs whose fake scores above its real twin (ties count half);
            what :func:`pair_loss` trains. Scene offsets cancel within a pair.
        auc: every fake against every real of the same faces (the usual AUC): below
            ``pair_accuracy`` where whole scenes score high or low together.
        median_gap: median of logit(fake) - logit(real) over the pairs.
        real_flagged_with_fake: of the reals called fake at the threshold, the share whose
            twin is called fake too (a scene-wide false alarm rather than a face-level one).
        fake_flagged: the share of all the pairs' fakes called fake: what
            ``real_flagged_with_fake`` would be if a real's verdict said nothing about its
            twin's, so only the excess over it measures scene-wide false alarms.
    """

    pairs: int
    pair_accuracy: float
    auc: float
    median_gap: float
    real_flagged_with_fake: float
    fake_flagged: float


def twin_ranking(samples: Sequence[Sample], p_fake: np.ndarray, threshold: float) -> TwinRanking:
    """:class:`TwinRanking` of scores ``p_fake`` (one per sample) over the twin pairs among
    ``samples`` (:func:`twin_index`).

    Raises:
        ValueError: no twin pairs, or not one score per sample.
    """
    from train.metrics import binary_metrics, logit

    p = np.asarray(p_fake, np.float64)
    if len(p) != len(samples):
        raise ValueError(f"{len(p)} scores for {len(samples)} samples")
    twins = twin_index(samples)
    fake = np.array([i for i, s in enumerate(samples) if s.label == 1 and twins[i] >= 0], int)
    if len(fake) == 0:
        raise ValueError("no real/fake twin pairs among the samples")
    real = twins[fake]
    z = logit(p)
    gap = z[fake] - z[real]
    accuracy = float(np.mean((gap > 0) + 0.5 * (gap == 0)))
    both = np.concatenate([fake, real])
    auc = binary_metrics(np.array([samples[i].label for i in both]), p[both], threshold).auc
    real_flagged = p[real] >= threshold
    with_fake = float(np.mean(p[fake][real_flagged] >= threshold)) if real_flagged.any() else 0.0
    return TwinRanking(len(fake), accuracy, float(auc), float(np.median(gap)), with_fake,
                       float(np.mean(p[fake] >= threshold)))
