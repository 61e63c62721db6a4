"""Per-stream bookkeeping: frames are voted once, in order, with their most suspicious face."""

from __future__ import annotations

import cv2
from skimage import data

from engine.judge.confirm import ConfirmConfig
from engine.judge.vote import VoteConfig
from engine.pipeline.state import StreamState
from engine.sources import open_source
from engine.track import TrackerConfig


def test_frames_complete_in_order_with_the_max_over_faces(tmp_path) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), data.astronaut()[:, :, ::-1])
    st = StreamState(0, open_source(str(tmp_path)), VoteConfig(min_frames=1, hysteresis=0.0),
                     TrackerConfig(), 5, stream_rule="frame-max",
                     confirm=ConfirmConfig(min_hits=0))
    for track in (1, 2):
        st.judge.status(track, confirmed=True, hits=1)
    st.expect(1, 0, 0.0)
    st.expect(2, 0, 0.0)  # two faces in frame 0
    st.expect(1, 1, 0.04)
    voter = st.judge.frame_voter
    events = st.judge.crop(2, 0, 0.0, 0.9)  # the track's own verdict, no frame vote yet
    assert [e.track for e in events] == [2] and voter.total == 0  # frame 0 waits for 1
    st.judge.crop(1, 1, 0.04, 0.2)  # frame 1 is complete but frame 0 is not: wait
    assert voter.total == 0
    st.judge.crop(1, 0, 0.0, 0.3)
    assert list(voter._window) == [0.9, 0.2] and voter.t == 0.04
    assert not st.judge._frames
    # The first frame of a stream is always searched for faces.
    assert st.frames_since_detect + 1 >= 5 and st.need_detect
    assert st.summary().outcome == "fake"  # the window mean 0.55 >= 0.5


def test_no_decision_says_why(tmp_path) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), data.astronaut()[:, :, ::-1])
    st = StreamState(0, open_source(str(tmp_path)), VoteConfig(), TrackerConfig(), 5)
    summary = st.summary()
    assert summary.outcome == "no_decision" and summary.reason == "no frame processed"
