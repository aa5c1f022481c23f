"""gstreamed: YOLO object detection and multi-object tracking in GStreamer pipelines."""

from __future__ import annotations

import os

# onnxruntime may try telemetry look-ups; this project makes no network traffic at run
# time except an explicit model download.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"

from gstreamed.errors import GstreamedError  # noqa: E402
from gstreamed.detect.detections import Detections  # noqa: E402

__all__ = ["Detections", "GstreamedError", "__version__"]
