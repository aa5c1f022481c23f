"""GStreamer Python-plugin-loader entry for the `gstreamed_overlay` element.

Found by gst-inspect-1.0 / gst-launch-1.0 when this file's grandparent directory is on
GST_PLUGIN_PATH (see `gstreamed env`).
"""

from gi.repository import Gst

from gstreamed.gst import silence_floating_warning
from gstreamed.gst.elements import ELEMENTS

silence_floating_warning()
__gstelementfactory__ = ("gstreamed_overlay", Gst.Rank.NONE, ELEMENTS["gstreamed_overlay"])
