"""`evaluate --videos` and the benchmark's budget check run what `screen` runs under a budget.

Under the classification budget the crops classified depend on the track verdicts, so a replay
of one run's crops is not what `screen` would do with another weighting; the evaluation runs the
engine once per weighting, and the replay of the engine's own variant must give the engine's
own verdict. The budget check (bench/onset.py) screens the clips with the budget off and on
and compares their verdicts.
"""

from __future__ import annotations

from bench.onset import budget_check, budget_markdown, issue32_targets
from bench.street import screen_street
from bench.video_accuracy import evaluate_videos
from engine.budget import BudgetConfig
from engine.pipeline import ClassifierSpec, PipelineConfig, build_classifier, build_detector
from tests.shared_data import shared_path
from tests.shipped import shipped_model
from train.labelled import Sample


def test_evaluate_replays_the_run_screen_makes_under_a_budget() -> None:
    model = shipped_model()
    clips = [Sample(str(shared_path("videos", "ffpp-c23", "fake-deepfakes", "519_515.mp4")), 1,
                    "fake-deepfakes"),
             Sample(str(shared_path("videos", "ffpp-c23", "real", "519.mp4")), 0, "real")]
    config = PipelineConfig(max_frames=150, budget=BudgetConfig(settled_hz=5.0))
    report = evaluate_videos(clips, config, ClassifierSpec(backend="ort", model=model,
                                                           spectral="cpu"))
    assert report["config"]["engine_runs"] == 3  # one per weighting
    assert report["config"]["budget"]["settled_hz"] == 5.0
    own = report["variants"]["any-track|none|on"]["clips"]
    for clip, row in zip(report["clips"], own, strict=True):
        assert row["verdict"] == clip["engine_verdict"], clip["clip"]
    # Fewer crops than frames: the settled face was classified at 5 Hz.
    assert all(clip["crops"] < clip["frames"] for clip in report["clips"])


def test_budget_check_compares_verdicts_time_to_first_verdict_and_onset() -> None:
    model = shipped_model()
    clip = shared_path("videos", "ffpp-c23", "fake-deepfakes", "519_515.mp4")
    real = shared_path("videos", "deepfacelive", "real", "Dean_Wiesel.mp4")
    fake = shared_path("videos", "deepfacelive", "fake", "Dean_Wiesel.mp4")
    classifier = build_classifier(ClassifierSpec(backend="ort", model=model, spectral="cpu"))
    config = PipelineConfig(max_frames=150)
    check = budget_check([clip], [(real, fake)], config, classifier, build_detector(config),
                         BudgetConfig(settled_hz=5.0), say=lambda _: None)
    assert check.clips[0][0] == "fake-deepfakes/519_515.mp4"
    assert check.identical == (check.clips[0][1] == check.clips[0][2])
    assert check.crops_on < check.crops_off
    assert check.ttfv_off_s is not None and check.ttfv_on_s == check.ttfv_off_s
    name, onset_off, onset_on, fake_off, fake_on = check.onsets[0]
    assert name == "Dean_Wiesel:real+fake"
    # The shipped model never calls this swap fake: no onset, and none invented.
    assert (onset_off is None) == (onset_on is None) or fake_off or fake_on
    # The report: the clip's row, the equality line and the targets it can judge.
    text = "\n".join(budget_markdown(check.as_dict()))
    assert "| fake-deepfakes/519_515.mp4 |" in text and "final verdict identical on and off" in text
    rows = issue32_targets({"budget_check": check.as_dict()})
    assert [r[0] for r in rows][-1].startswith("every shared clip's verdict identical")
    assert rows[-1][2] == ("yes" if check.identical else "no")


def test_street_is_screened_looped_with_detection_around_the_tracks() -> None:
    """121 frames of the 105-frame 1080p clip: the loop goes on past its end, and with
    full_detect_every the detector searches the whole frame only every 20 frames."""
    model = shipped_model()
    clip = shared_path("videos", "multiface", "street.mp4")
    classifier = build_classifier(ClassifierSpec(backend="ort", model=model, spectral="cpu"))
    config = PipelineConfig(full_detect_every=20, budget=BudgetConfig(settled_hz=5.0))
    run = screen_street(config, classifier, build_detector(config), 121, path=clip)
    assert not run.error
    assert run.frames == 121 and run.fps > 0
    assert run.tracks >= 4 and run.classified > 0
    assert run.detections >= 4 * 121 // 5  # several faces found again at every detection
    assert run.stage_ms_per_frame["detect_regions"] > 0
