"""Detections on buffers as standard ``GstVideoRegionOfInterestMeta``.

Each detection becomes one ROI meta: ``roi_type`` = class name, ``id`` = row index on the
buffer, x/y/w/h = the box in frame pixels (rounded), and a ``detection`` parameter structure
with ``class_id`` (int), ``confidence`` (double), ``track_id`` (int, -1 = none) and the exact
float box ``x1``/``y1``/``x2``/``y2`` (double), so other elements and applications can read them;
a tracked box that is the tracker's (Kalman-filtered) box also has the detector's box as
``raw_x1``/``raw_y1``/``raw_x2``/``raw_y2``.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from gi.repository import GLib, GObject, Gst, GstVideo

from gstreamed.detect.detections import Detections

PARAM_NAME = "detection"
BOX_KEYS = ("x1", "y1", "x2", "y2")
RAW_KEYS = ("raw_x1", "raw_y1", "raw_x2", "raw_y2")


@cache
def roi_api() -> GObject.GType:
    """The GType of the ROI meta API (available once GStreamer is initialised)."""
    return GstVideo.VideoRegionOfInterestMeta.get_info().api


def attach(buffer: Gst.Buffer, detections: Detections) -> None:
    """Add one ROI meta per detection to a writable buffer.

    The meta's unsigned integer box is the part right of x=0 and below y=0 (a tracker's
    box may reach past the frame's edge); the exact float box is in the parameters.
    """
    names = detections.class_names
    for i in range(len(detections)):
        x1, y1, x2, y2 = (float(v) for v in detections.xyxy[i])
        left, top = max(0, round(x1)), max(0, round(y1))
        meta = GstVideo.buffer_add_video_region_of_interest_meta(
            buffer,
            names[i],
            left,
            top,
            max(0, round(x2) - left),
            max(0, round(y2) - top),
        )
        meta.id = i
        param = Gst.Structure.new_empty(PARAM_NAME)
        param.set_value("class_id", int(detections.class_id[i]))
        param.set_value("confidence", float(detections.confidence[i]))
        param.set_value("track_id", int(detections.track_id[i]))
        for key, value in zip(BOX_KEYS, (x1, y1, x2, y2), strict=True):
            param.set_value(key, value)
        if detections.raw_xyxy is not None:
            for key, value in zip(RAW_KEYS, detections.raw_xyxy[i].tolist(), strict=True):
                param.set_value(key, value)
        meta.add_param(param)


@dataclass(frozen=True)
class Region:
    """One ROI meta as read back: label, integer box and the ``detection`` parameters."""

    label: str
    x: int
    y: int
    w: int
    h: int
    param: Gst.Structure | None


class _RoiMetaStruct(ctypes.Structure):
    """The C layout of GstVideoRegionOfInterestMeta (GstMeta header first)."""

    _fields_ = [
        ("flags", ctypes.c_uint),
        ("info", ctypes.c_void_p),
        ("roi_type", ctypes.c_uint32),
        ("id", ctypes.c_int),
        ("parent_id", ctypes.c_int),
        ("x", ctypes.c_uint),
        ("y", ctypes.c_uint),
        ("w", ctypes.c_uint),
        ("h", ctypes.c_uint),
        ("params", ctypes.c_void_p),
    ]


@cache
def _c_functions() -> tuple[Any, Any, Any]:
    """gst_buffer_iterate_meta_filtered, gst_video_region_of_interest_meta_get_param and
    gst_structure_to_string, for iterating metas PyGObject cannot iterate."""
    gst = ctypes.CDLL("libgstreamer-1.0.so.0")
    video = ctypes.CDLL("libgstvideo-1.0.so.0")
    iterate = gst.gst_buffer_iterate_meta_filtered
    iterate.restype = ctypes.POINTER(_RoiMetaStruct)
    iterate.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_size_t]
    get_param = video.gst_video_region_of_interest_meta_get_param
    get_param.restype = ctypes.c_void_p
    get_param.argtypes = [ctypes.POINTER(_RoiMetaStruct), ctypes.c_char_p]
    to_string = gst.gst_structure_to_string
    to_string.restype = ctypes.c_void_p  # freed with g_free
    to_string.argtypes = [ctypes.c_void_p]
    return iterate, get_param, to_string


def _regions_by_iteration(buffer: Gst.Buffer) -> list[Region]:
    """Every ROI meta of ``buffer``, whatever their ids (PyGObject has no meta iterator and
    ``Buffer.get_meta`` returns a bare `Gst.Meta`, so this walks them through the C API;
    ``hash(buffer)`` is the GstBuffer pointer, as for any PyGObject boxed value)."""
    iterate, get_param, to_string = _c_functions()
    free = ctypes.CDLL("libglib-2.0.so.0").g_free
    free.argtypes = [ctypes.c_void_p]
    state = ctypes.c_void_p()
    regions = []
    while meta := iterate(hash(buffer), ctypes.byref(state), hash(roi_api())):
        roi = meta.contents
        param = None
        if structure := get_param(meta, PARAM_NAME.encode()):
            text = to_string(structure)
            param = Gst.Structure.from_string(ctypes.string_at(text).decode())[0]
            free(text)
        regions.append(
            Region(GLib.quark_to_string(roi.roi_type) or "", roi.x, roi.y, roi.w, roi.h, param)
        )
    return regions


def regions(buffer: Gst.Buffer) -> list[Region]:
    """The ROI metas of a buffer: by id when they are 0..n-1 (as `attach` writes them),
    else (metas from other elements, repeated ids) in buffer order through the C API."""
    count = buffer.get_n_meta(roi_api())
    metas = [GstVideo.buffer_get_video_region_of_interest_meta_id(buffer, i) for i in range(count)]
    if not all(metas):
        return _regions_by_iteration(buffer)
    return [
        Region(GLib.quark_to_string(m.roi_type) or "", m.x, m.y, m.w, m.h, m.get_param(PARAM_NAME))
        for m in metas
    ]


def read(buffer: Gst.Buffer) -> Detections:
    """The detections carried by a buffer's ROI metas (class names rebuilt from the labels).

    Metas without a ``detection`` parameter (written by other elements) keep their integer
    box and label, confidence 1 and no track; labels get class ids in order of appearance.
    """
    found = regions(buffer)
    n = len(found)
    xyxy = np.zeros((n, 4), np.float32)
    confidence = np.ones(n, np.float32)
    class_id = np.zeros(n, np.int32)
    track_id = np.full(n, -1, np.int64)
    raw_xyxy = np.full((n, 4), np.nan, np.float32)  # NaN: no raw box in the meta
    labels: dict[int, str] = {}
    for i, region in enumerate(found):
        param = region.param
        if param is not None and param.has_field("x1"):
            xyxy[i] = [param.get_value(k) for k in BOX_KEYS]
            if param.has_field("raw_x1"):
                raw_xyxy[i] = [param.get_value(k) for k in RAW_KEYS]
            class_id[i] = param.get_value("class_id")
            confidence[i] = param.get_value("confidence")
            track_id[i] = param.get_value("track_id")
        else:
            xyxy[i] = [region.x, region.y, region.x + region.w, region.y + region.h]
            class_id[i] = next((k for k, v in labels.items() if v == region.label), len(labels))
        labels[int(class_id[i])] = region.label
    names = [labels.get(k, str(k)) for k in range(max(labels, default=-1) + 1)]
    has_raw = ~np.isnan(raw_xyxy[:, 0])
    raw = np.where(has_raw[:, None], raw_xyxy, xyxy) if has_raw.any() else None
    return Detections(xyxy, confidence, class_id, track_id, names, raw)


def remove(buffer: Gst.Buffer) -> None:
    """Drop every ROI meta from a writable buffer."""
    while (meta := buffer.get_meta(roi_api().name)) is not None:
        buffer.remove_meta(meta)
