"""A live RTSP camera for tests: ``python rtsp_server.py [PORT]`` serves
rtsp://127.0.0.1:PORT/cam (any free port when not given).

Prints the bound port on the first line of stdout, then serves a live 320x240 15 fps H.264
stream (videotestsrc is-live) until terminated.
"""

from __future__ import annotations

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
import sys  # noqa: E402

from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

LAUNCH = (
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,"
    "framerate=15/1 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! "
    "rtph264pay name=pay0 pt=96 )"
)


def main() -> None:
    Gst.init(None)
    server = GstRtspServer.RTSPServer.new()
    server.set_address("127.0.0.1")
    server.set_service(sys.argv[1] if len(sys.argv) > 1 else "0")
    factory = GstRtspServer.RTSPMediaFactory.new()
    factory.set_launch(LAUNCH)
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    server.attach(None)
    print(server.get_bound_port(), flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
