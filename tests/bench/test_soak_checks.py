"""The soak's pass criteria on made-up counters (the soak itself takes an hour)."""

from __future__ import annotations

from dataclasses import dataclass

from bench.soak_checks import RestartTracker, window_growth


@dataclass
class Counters:
    read: int = 0
    connects: int = 1


def test_a_restart_counts_once_the_stream_reopened_and_read_again() -> None:
    cam = Counters(read=100)
    clock = [10.0]
    tracker = RestartTracker(["cam0"], clock=lambda: clock[0])
    tracker.killed({"cam0": cam})
    cam.read = 103  # frames still buffered from the old connection, read after the kill
    tracker.restarted({"cam0": cam})
    cam.read = 105  # more of them, after the restart: not yet back
    tracker.poll({"cam0": cam})
    assert tracker.pending
    cam.connects = 2  # opened the new server (it came back and may have gone again since)
    clock[0] = 14.5
    tracker.poll({"cam0": cam})
    assert not tracker.pending
    tracker.settle({"cam0": cam})
    track = tracker.streams["cam0"]
    assert (track.restarts, track.reconnected, track.missed) == (1, 1, 0)
    assert track.back_s == [4.5]
    assert tracker.failures() == []


def test_an_open_without_frames_is_not_back() -> None:
    cam = Counters(read=100)
    tracker = RestartTracker(["cam0"])
    tracker.killed({"cam0": cam})
    tracker.restarted({"cam0": cam})
    cam.connects = 2  # opened, then lost before a frame
    tracker.poll({"cam0": cam})
    assert tracker.pending
    tracker.killed({"cam0": cam})
    assert tracker.streams["cam0"].missed_restarts == [1]


def test_a_stream_that_stays_down_misses_the_restart() -> None:
    up, down = Counters(read=50), Counters(read=50)
    tracker = RestartTracker(["up", "down"])
    for _ in range(2):
        stats = {"up": up, "down": down}
        tracker.killed(stats)
        tracker.restarted(stats)
        up.connects += 1
        up.read += 25
        tracker.poll(stats)  # "down" keeps trying and never opens the server again
    tracker.settle({"up": up, "down": down})
    assert tracker.streams["up"].reconnected == 2
    assert tracker.streams["down"].missed == 2
    assert tracker.failures() == [
        "down: 2 of 2 server restarts not followed by a reconnect (restart 1, 2)"]


def test_window_growth_compares_window_means_not_the_peak() -> None:
    t = [float(i) for i in range(0, 600, 5)]
    swings = [500.0 + (40.0 if i % 7 == 0 else 0.0) for i in range(len(t))]  # frames in flight
    flat = window_growth(t, swings, 120.0)
    assert flat is not None and abs(flat.growth_pct) < 2.0
    leak = window_growth(t, [500.0 + 0.1 * ti for ti in t], 120.0)
    assert leak is not None and leak.growth_pct > 9.0 and leak.window_s == 120.0
    assert window_growth(t[:3], swings[:3], 120.0) is None
