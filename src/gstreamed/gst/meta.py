"""Detections on buffers as standard ``GstVideoRegionOfInterestMeta``.

Each detection becomes one ROI meta: ``roi_type`` = class name, ``id`` = row index on the
buffer, x/y/w/h = the box in frame pixels (rounded), and a ``detection`` parameter structure
with ``class_id`` (int), ``confidence`` (double), ``track_id`` (int, -1 = none) and the exact
float box ``x1``/``y1``/``x2``/``y2`` (double), so other elements and applications can read them.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from gi.repository import GLib, GObject, Gst, GstVideo

from gstreamed.detect.detections import Detections

PARAM_NAME = "detection"


@cache
def roi_api() -> GObject.GType:
    """The GType of the ROI meta API (available once GStreamer is initialised)."""
    return GstVideo.VideoRegionOfInterestMeta.get_info().api


def attach(buffer: Gst.Buffer, detections: Detections) -> None:
    """Add one ROI meta per detection to a writable buffer."""
    names = detections.class_names
    for i in range(len(detections)):
        x1, y1, x2, y2 = (float(v) for v in detections.xyxy[i])
        meta = GstVideo.buffer_add_video_region_of_interest_meta(
            buffer, names[i], int(round(x1)), int(round(y1)),
            max(0, int(round(x2 - x1))), max(0, int(round(y2 - y1))))
        meta.id = i
        param = Gst.Structure.new_empty(PARAM_NAME)
        param.set_value("class_id", int(detections.class_id[i]))
        param.set_value("confidence", float(detections.confidence[i]))
        param.set_value("track_id", int(detections.track_id[i]))
        for key, value in zip(("x1", "y1", "x2", "y2"), (x1, y1, x2, y2)):
            param.set_value(key, value)
        meta.add_param(param)


def _metas(buffer: Gst.Buffer) -> list[GstVideo.VideoRegionOfInterestMeta]:
    """The ROI metas of a buffer, in id order (ids 0..n-1 as `attach` writes them)."""
    count = buffer.get_n_meta(roi_api())
    metas = []
    for index in range(count):
        meta = GstVideo.buffer_get_video_region_of_interest_meta_id(buffer, index)
        if meta is None:  # ids not 0..n-1: written by a foreign element
            first = buffer.get_meta(roi_api().name)
            return [first] if first is not None and index == 0 else metas
        metas.append(meta)
    return metas


def read(buffer: Gst.Buffer) -> Detections:
    """The detections carried by a buffer's ROI metas (class names rebuilt from the labels)."""
    metas = _metas(buffer)
    n = len(metas)
    xyxy = np.zeros((n, 4), np.float32)
    confidence = np.ones(n, np.float32)
    class_id = np.zeros(n, np.int32)
    track_id = np.full(n, -1, np.int64)
    labels: dict[int, str] = {}
    for i, meta in enumerate(metas):
        label = GLib.quark_to_string(meta.roi_type)
        param = meta.get_param(PARAM_NAME)
        if param is not None and param.has_field("x1"):
            xyxy[i] = [param.get_value(k) for k in ("x1", "y1", "x2", "y2")]
            class_id[i] = param.get_value("class_id")
            confidence[i] = param.get_value("confidence")
            track_id[i] = param.get_value("track_id")
        else:
            xyxy[i] = [meta.x, meta.y, meta.x + meta.w, meta.y + meta.h]
            class_id[i] = next((k for k, v in labels.items() if v == label), len(labels))
        labels[int(class_id[i])] = label
    names = [labels.get(k, str(k)) for k in range(max(labels, default=-1) + 1)]
    return Detections(xyxy, confidence, class_id, track_id, names)


def remove(buffer: Gst.Buffer) -> None:
    """Drop every ROI meta from a writable buffer."""
    while (meta := buffer.get_meta(roi_api().name)) is not None:
        buffer.remove_meta(meta)
