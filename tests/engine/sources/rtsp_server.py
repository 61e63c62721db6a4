#!/usr/bin/python3
"""A loopback RTSP camera for the source tests: serves an H.264 mp4 without re-encoding.

Run with Debian's python3 (it has PyGObject and GStreamer's RTSP server typelib)::

    /usr/bin/python3 tests/engine/sources/rtsp_server.py --port 8554 --file clip.mp4

It binds to 127.0.0.1 only, serves ``rtsp://127.0.0.1:PORT/stream`` and prints ``READY``
on stdout once it listens. The clip is demuxed once into memory and its access units are
pushed in an endless loop with ever-increasing timestamps, so the camera never ends.
``--user/--password`` require Basic authentication (for the credential-scrubbing tests).
"""

from __future__ import annotations

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstApp, GstRtspServer  # noqa: E402


def load_access_units(path: str) -> tuple[list[bytes], Gst.Caps, int]:
    """Demux the mp4 into H.264 byte-stream access units (SPS/PPS repeated at key frames)."""
    pipeline = Gst.parse_launch(
        f'filesrc location="{path}" ! qtdemux ! h264parse config-interval=-1 ! '
        "video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false"
    )
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    units: list[bytes] = []
    caps = None
    duration = 0
    while True:
        sample = sink.emit("pull-sample")
        if sample is None:
            break
        buf = sample.get_buffer()
        caps = caps or sample.get_caps()
        duration = duration or buf.duration
        units.append(buf.extract_dup(0, buf.get_size()))
    pipeline.set_state(Gst.State.NULL)
    if not units or caps is None:
        sys.exit(f"no H.264 access units in {path}")
    if duration in (0, Gst.CLOCK_TIME_NONE):
        duration = Gst.SECOND // 25
    return units, caps, duration


class LoopingFactory(GstRtspServer.RTSPMediaFactory):
    """Each client gets its own pipeline that replays the access units forever."""

    def __init__(self, units: list[bytes], caps: Gst.Caps, duration: int):
        super().__init__()
        self.units, self.caps, self.duration = units, caps, duration
        self.set_shared(False)

    def do_create_element(self, url):  # noqa: N802 - GStreamer virtual method name
        caps = self.caps.to_string()
        return Gst.parse_launch(
            f'( appsrc name=src is-live=true format=time caps="{caps}" ! '
            "h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        )

    def do_configure(self, media):  # noqa: N802
        GstRtspServer.RTSPMediaFactory.do_configure(self, media)
        src = media.get_element().get_by_name("src")
        state = {"n": 0}

        def need_data(appsrc: GstApp.AppSrc, _length: int) -> None:
            n = state["n"]
            data = self.units[n % len(self.units)]
            buf = Gst.Buffer.new_wrapped(data)
            buf.pts = buf.dts = n * self.duration
            buf.duration = self.duration
            state["n"] = n + 1
            appsrc.emit("push-buffer", buf)

        src.connect("need-data", need_data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--mount", default="/stream")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()

    Gst.init(None)
    units, caps, duration = load_access_units(args.file)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = LoopingFactory(units, caps, duration)
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
        basic = GstRtspServer.RTSPAuth.make_basic(args.user, args.password or "")
        auth.add_basic(basic, token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        role = Gst.Structure.new_empty("user")
        role.set_value("media.factory.access", True)
        role.set_value("media.factory.construct", True)
        permissions.add_role_from_structure(role)
        factory.set_permissions(permissions)
    server.get_mount_points().add_factory(args.mount, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
        return 1
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print("READY", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
