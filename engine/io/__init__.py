"""Reading still images and video files from disk (live sources live in engine.sources)."""

from engine.io.images import IMAGE_SUFFIXES, read_image
from engine.io.video import VIDEO_SUFFIXES, iter_video_frames

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "iter_video_frames", "read_image"]
