"""The live picture of a run (per-stream verdicts, scores over time, tracks with face crops)."""

from engine.live.board import LiveBoard, StreamBoard, TrackInfo, encode_face

__all__ = ["LiveBoard", "StreamBoard", "TrackInfo", "encode_face"]
