"""The live web page: per stream the verdict, the score over time, the tracks with their face
crops, fps and drops; served by the metrics server from a :class:`~engine.live.LiveBoard`."""

from engine.web.server import WebRoutes, is_loopback, parse_bind

__all__ = ["WebRoutes", "is_loopback", "parse_bind"]
