"""gstreamed: YOLO object detection and multi-object tracking in GStreamer pipelines.

The Python API::

    import gstreamed
    detector = gstreamed.load_detector("yolov8n.onnx")
    detections = detector.detect(rgb_frame)          # -> gstreamed.Detections
    tracker = gstreamed.create_tracker("bytetrack")
    tracked = tracker.update(detections)
    gstreamed.process_file("clip.mp4", json="clip.jsonl")   # -> clip.mp4.out.mkv
    for frame in gstreamed.stream("clip.mp4"):               # -> gstreamed.Frame
        frame.image, frame.index, frame.pts, frame.detections
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import os
from typing import Any

# onnxruntime may try telemetry look-ups; this project makes no network traffic at run
# time except an explicit model download (and that one sends no usage telemetry).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

# libgstreamer links libunwind, and GModule loads it with global symbols: once numpy and
# GStreamer are loaded, C++ exceptions of libraries loaded later (onnxruntime's, torch's)
# unwind through libunwind's _Unwind_Resume and abort the process instead of raising. Loading
# libgcc_s globally first keeps the C++ runtime's own unwinder in front. Import gstreamed
# before gi to get this.
with contextlib.suppress(OSError):  # not a glibc system: nothing to do
    ctypes.CDLL("libgcc_s.so.1", mode=ctypes.RTLD_GLOBAL)

__version__ = "0.1.0"

from gstreamed.detect.detections import Detections
from gstreamed.errors import GstreamedError

# Heavier parts load on first use, so `import gstreamed` stays cheap.
_LAZY = {
    "Detector": "gstreamed.detect.detector",
    "load_detector": "gstreamed.detect.detector",
    "process_file": "gstreamed.api",
    "process_files": "gstreamed.api",
    "stream": "gstreamed.api",
    "Frame": "gstreamed.gst.stream",
    "create_tracker": "gstreamed.track",
    "load_backend": "gstreamed.backends",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gstreamed' has no attribute {name!r}")


__all__ = ["Detections", "GstreamedError", "__version__", *_LAZY]
