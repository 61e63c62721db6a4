"""The classification budget inside the engine, on the shared clips (engine/budget.py).

With the budget on, a clip's settled face is classified a few times a second instead of on
every frame: fewer crops, the same verdict, the same time to first verdict, the same crops
whatever the batch timing, and a swap switched on in the middle of a settled track is caught.
"""

from __future__ import annotations

import pytest

from bench.chain_source import ChainedVideoSource
from bench.onset import timings
from engine.budget import BudgetConfig
from engine.classifier import Classifier
from engine.judge.verdicts import FAKE
from engine.pipeline import PipelineConfig, PipelineMetrics, build_pipeline
from engine.sinks.base import Sink
from engine.sources import open_source
from tests.shared_data import shared_path

ON = BudgetConfig(settled_hz=5.0)
OFF = BudgetConfig(settled_hz=0.0)


class CropLog(Sink):
    """(track, frame) of every classified crop, in order."""

    def __init__(self) -> None:
        self.crops: list[tuple[int, int]] = []

    def on_crop(self, stream, item, p_fake, confirmed, hits) -> None:
        self.crops.append((item.track, item.frame_index))


@pytest.fixture(scope="module")
def parts(stack):
    backend, feature, detector = stack
    return Classifier(backend, feature), detector


def test_budget_classifies_less_with_the_same_verdict_and_first_verdict(parts) -> None:
    clip = shared_path("videos", "ffpp-c23", "fake-deepfakes", "519_515.mp4")
    classifier, detector = parts
    off, on = (timings([str(clip)], PipelineConfig(max_frames=250, budget=b), classifier,
                       detector)[0] for b in (OFF, ON))
    assert off.verdict == on.verdict == FAKE
    assert on.first_fake_t == off.first_fake_t is not None  # full rate until the first verdict
    assert on.classified < 0.6 * off.classified
    assert on.skipped > 0 and off.skipped == 0
    # Every frame a full-rate engine classifies is either classified or counted as skipped.
    assert on.classified + on.skipped == off.classified


def test_a_flickering_live_swap_keeps_its_verdict_under_the_budget(parts) -> None:
    """DeepFaceLive's Ewon_Spice swap half flickers (crops from 0.02 to 0.98 a few frames
    apart) and the full-rate vote ends fake by a hair. A budget that settled on its last eight
    crops alone, while the vote window was mixed, skipped fake-side frames and ended real;
    a track whose window disagrees stays at full rate, and the verdict is the same."""
    clip = shared_path("videos", "deepfacelive", "fake", "Ewon_Spice.mp4")
    classifier, detector = parts
    off, on = (timings([str(clip)], PipelineConfig(budget=b), classifier, detector)[0]
               for b in (OFF, ON))
    assert on.verdict == off.verdict
    assert on.classified + on.skipped == off.classified


def test_budget_picks_the_same_crops_whatever_the_batch_timing(parts) -> None:
    """Decisions use crops at least lag_frames old, flushing for them when needed: a batch of
    one crop and a batch that waits half a second classify exactly the same frames."""
    clip = shared_path("videos", "ffpp-c23", "real", "519.mp4")
    classifier, detector = parts
    logs = []
    for batch, wait in ((1, 0.0), (16, 500.0)):
        log = CropLog()
        cfg = PipelineConfig(max_frames=200, budget=ON, max_batch=batch, max_wait_ms=wait)
        build_pipeline([str(clip)], cfg, classifier=classifier, detector=detector,
                       sinks=[log]).run()
        logs.append(log.crops)
    assert logs[0] == logs[1]
    assert len(logs[0]) < 200


def test_a_swap_switched_on_mid_track_is_caught(parts) -> None:
    """FF++ 634 (real, judged real) then 634_660 (the same video with the face swapped,
    judged fake): one face track across the switch. With the budget the settled real track
    is checked every 0.2 s, the first swapped crop returns it to full rate, and the stream
    turns fake no more than a second later than at full rate."""
    real = shared_path("videos", "ffpp-c23", "real", "634.mp4")
    fake = shared_path("videos", "ffpp-c23", "fake-faceswap", "634_660.mp4")
    classifier, detector = parts
    result = {}
    for label, budget in (("off", OFF), ("on", ON)):
        source = ChainedVideoSource([real, fake], name="634+634_660", take=[200, 200])
        result[label] = timings([source], PipelineConfig(budget=budget), classifier,
                                detector)[0]
    on, off = result["on"], result["off"]
    assert on.switch_t == pytest.approx(8.0)
    assert not off.fake_at_switch and not on.fake_at_switch
    assert off.onset_s is not None and on.onset_s is not None
    assert on.onset_s <= off.onset_s + 1.0
    assert on.skipped > 0  # the real half was settled


def test_skipped_crops_are_on_metrics(parts) -> None:
    clip = shared_path("videos", "ffpp-c23", "fake-deepfakes", "519_515.mp4")
    classifier, detector = parts
    metrics = PipelineMetrics()
    summary = build_pipeline([str(clip)], PipelineConfig(max_frames=120, budget=ON),
                             classifier=classifier, detector=detector, metrics=metrics).run()
    text = metrics.registry.render()
    skipped = summary.streams[0].skipped_settled
    assert skipped > 0
    assert (f'deepscreen_classifications_skipped_total{{stream="519_515.mp4",reason="settled"}} '
            f"{skipped}") in text
    assert 'deepscreen_classifications_skipped_total{stream="519_515.mp4",reason="budget"} 0' \
        in text


def test_global_budget_shares_the_classifier_between_live_cameras(parts) -> None:
    """Two cameras (files read at their frame rate, handled as live streams) and a budget of
    6 crops/s: each gets about half, the rest is counted as skipped."""
    clip = shared_path("videos", "ffpp-c23", "fake-deepfakes", "519_515.mp4")
    classifier, detector = parts
    sources = [open_source(str(clip), realtime=True) for _ in range(2)]
    for src in sources:
        src.live = True  # a camera: drop-oldest, rationed by the global budget
    cfg = PipelineConfig(max_frames=75, budget=BudgetConfig(settled_hz=0.0, crops_per_s=6.0))
    summary = build_pipeline(sources, cfg, classifier=classifier, detector=detector).run()
    a, b = summary.streams
    assert a.skipped_budget > 0 and b.skipped_budget > 0
    # The budget is in crops per second of wall time (a live camera's clock): 3 s of video on
    # a quiet box, longer on a loaded one. Each camera's share is 3 crops/s, plus a token to
    # start and a saved-up burst of 3; neither camera starves the other.
    cap = 3.0 * summary.wall_s + 4
    assert 5 <= a.classified <= cap and 5 <= b.classified <= cap, (a.classified, b.classified,
                                                                   summary.wall_s)
    assert abs(a.classified - b.classified) <= max(4, 0.25 * (a.classified + b.classified))
