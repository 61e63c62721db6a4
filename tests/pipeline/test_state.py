"""Per-stream bookkeeping: frames are voted once, in order, with their most suspicious face."""

from __future__ import annotations

import cv2
from skimage import data

from engine.pipeline.state import StreamState
from engine.sources import open_source
from engine.track import TrackerConfig
from engine.vote import VoteConfig


def test_frames_complete_in_order_with_the_max_over_faces(tmp_path) -> None:
    cv2.imwrite(str(tmp_path / "a.png"), data.astronaut()[:, :, ::-1])
    st = StreamState(0, open_source(str(tmp_path)), VoteConfig(), TrackerConfig(), 5)
    st.expect(1, 0, 0.0)
    st.expect(2, 0, 0.0)  # two faces in frame 0
    st.expect(1, 1, 0.04)
    assert st.resolve(2, 0, 0.9) == []  # frame 0 still waits for track 1
    assert st.resolve(1, 1, 0.2) == []  # frame 1 is complete but frame 0 is not: wait
    done = st.resolve(1, 0, 0.3)
    assert [(f.t, f.max_p) for f in done] == [(0.0, 0.9), (0.04, 0.2)]
    assert not st.pending_frames and all(v == 0 for v in st.pending_tracks.values())
    # The first frame of a stream is always searched for faces.
    assert st.frames_since_detect + 1 >= 5 and st.need_detect
    assert st.summary().outcome == "no_decision"
