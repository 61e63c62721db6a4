"""The exponential moving average of trained weights (train.weight_average)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from train.weight_average import WeightAverage


def net() -> nn.Sequential:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(1))
    model(torch.randn(2, 3, 8, 8))  # materialise the lazy layer
    model[0].weight.requires_grad_(False)  # a frozen layer, as the detector's stem
    return model


def test_average_follows_the_documented_recursion() -> None:
    model = net()
    avg = WeightAverage(model, decay=0.9)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)
    expected = start["3.weight"].clone()
    for _ in range(100):  # past the warm-up (n >= 80 for 0.9)
        d = avg.current_decay()
        model.train()
        loss = model(torch.randn(4, 3, 8, 8)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        avg.update(model)
        expected = d * expected + (1 - d) * model.state_dict()["3.weight"]
    got = avg.model.state_dict()
    torch.testing.assert_close(got["3.weight"], expected)
    assert not torch.equal(got["3.weight"], model.state_dict()["3.weight"])
    # Frozen tensors stay the source weights bit for bit; buffers are the trained model's.
    assert torch.equal(got["0.weight"], start["0.weight"])
    assert torch.equal(got["1.running_mean"], model.state_dict()["1.running_mean"])
    # The warm-up: the first decays are (1 + n) / (10 + n), then the configured one.
    assert WeightAverage(model, 0.9).current_decay() == pytest.approx(2 / 11)
    assert avg.current_decay() == 0.9
    assert not any(p.requires_grad for p in avg.model.parameters())


def test_state_round_trip_continues_identically() -> None:
    model = net()
    a = WeightAverage(model, 0.99)
    for _ in range(5):
        with torch.no_grad():
            model[3].weight.add_(0.1)
        a.update(model)
    b = WeightAverage(net(), 0.99)
    b.load_state_dict(a.state_dict())
    with torch.no_grad():
        model[3].weight.add_(0.1)
    a.update(model)
    b.update(model)
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k]), k


def test_decay_outside_the_open_interval_is_refused() -> None:
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="decay"):
            WeightAverage(net(), bad)
