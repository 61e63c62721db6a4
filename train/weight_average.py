"""An exponential moving average of a model's trained weights (Polyak averaging).

The weights a run ends an epoch with are one noisy point of the last few hundred SGD steps;
their running average often scores better, at no cost at inference (the averaged weights are an
ordinary checkpoint of the same network). Measured here
(docs/experiments/2026-11-30-v13-weight-average.md): it lifts the validation AUC mid-run, but at
the end of a cosine schedule that takes the learning rate to zero it converges to the weights and
changes nothing.
Only parameters that train are averaged; buffers (BatchNorm statistics) and frozen tensors are
copied from the trained model, so a frozen stem stays bit-identical to its source weights.
"""

from __future__ import annotations

import copy


class WeightAverage:
    """Exponential moving average of the trainable parameters of ``model``.

    Args:
        model: the trained model (its current weights start the average).
        decay: weight of the old average per update, e.g. 0.998 (an horizon of about
            ``1 / (1 - decay)`` = 500 steps). Update ``n`` uses ``(1 + n) / (10 + n)`` when that
            is smaller, so the average does not stay anchored at the initial weights: its
            horizon is then about a ninth of the steps taken so far (0.998 is reached after
            about 4,500 steps).
    """

    def __init__(self, model, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.updates = 0
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self._trained = {n for n, p in model.named_parameters() if p.requires_grad}

    def current_decay(self) -> float:
        """The decay the next update uses."""
        n = self.updates + 1
        return min(self.decay, (1 + n) / (10 + n))

    def update(self, model) -> None:
        """Fold the trained model's current weights into the average (call after each step)."""
        import torch

        d = self.current_decay()
        self.updates += 1
        avg = dict(self.model.named_parameters())
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name in self._trained:
                    avg[name].mul_(d).add_(p.detach(), alpha=1.0 - d)
            for (_, b_avg), (_, b) in zip(self.model.named_buffers(), model.named_buffers(),
                                          strict=True):
                b_avg.copy_(b)

    def state_dict(self) -> dict:
        """What a resumable checkpoint needs to continue the average exactly."""
        return {"decay": self.decay, "updates": self.updates,
                "weights": self.model.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` (same network)."""
        self.model.load_state_dict(state["weights"])
        self.updates = int(state["updates"])
