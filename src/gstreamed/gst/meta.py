"""Detections on buffers as standard ``GstVideoRegionOfInterestMeta``, in gstreamed's
fields and DL Streamer's (docs/metadata.md has the exact layout).

Each detection becomes one ROI meta: ``roi_type`` = class name, ``id`` = row index on the
buffer, x/y/w/h = the box in frame pixels (rounded), and a ``detection`` parameter structure
with ``class_id`` (int), ``confidence`` (double), ``track_id`` (int, -1 = none) and the exact
float box ``x1``/``y1``/``x2``/``y2`` (double); the same structure carries DL Streamer's
``x_min``/``y_min``/``x_max``/``y_max`` (double, 0..1 of the frame), ``label_id`` (int) and
``label`` (string), and a tracked detection also gets DL Streamer's ``object_id`` structure
with ``id`` (int). A tracked box that is the tracker's (Kalman-filtered) box also has the
detector's box as ``raw_x1``/``raw_y1``/``raw_x2``/``raw_y2``. `read` accepts either set, so
metas from DL Streamer's gvadetect/gvatrack work too.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from gi.repository import GLib, GObject, Gst, GstVideo

from gstreamed.detect.detections import NO_TRACK, Detections

PARAM_NAME = "detection"
BOX_KEYS = ("x1", "y1", "x2", "y2")
RAW_KEYS = ("raw_x1", "raw_y1", "raw_x2", "raw_y2")
OBJECT_ID = "object_id"  # DL Streamer's track id structure (gvatrack), field "id"


@cache
def roi_api() -> GObject.GType:
    """The GType of the ROI meta API (available once GStreamer is initialised)."""
    return GstVideo.VideoRegionOfInterestMeta.get_info().api


def attach(buffer: Gst.Buffer, detections: Detections, width: int, height: int) -> None:
    """Add one ROI meta per detection to a writable buffer of a ``width`` x ``height`` frame.

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
        class_id, track_id = int(detections.class_id[i]), int(detections.track_id[i])
        param = Gst.Structure.new_empty(PARAM_NAME)
        param.set_value("class_id", class_id)
        param.set_value("confidence", float(detections.confidence[i]))
        param.set_value("track_id", track_id)
        for key, value in zip(BOX_KEYS, (x1, y1, x2, y2), strict=True):
            param.set_value(key, value)
        if detections.raw_xyxy is not None:
            for key, value in zip(RAW_KEYS, detections.raw_xyxy[i].tolist(), strict=True):
                param.set_value(key, value)
        normalised = (x1 / width, y1 / height, x2 / width, y2 / height)
        for key, value in zip(("x_min", "y_min", "x_max", "y_max"), normalised, strict=True):
            param.set_value(key, min(max(value, 0.0), 1.0))
        param.set_value("label_id", class_id)
        param.set_value("label", names[i])
        meta.add_param(param)
        if track_id != NO_TRACK:
            object_id = Gst.Structure.new_empty(OBJECT_ID)
            object_id.set_value("id", track_id)
            meta.add_param(object_id)


@dataclass(frozen=True)
class Region:
    """One ROI meta as read back: label, integer box, the ``detection`` and ``object_id``
    parameters."""

    label: str
    x: int
    y: int
    w: int
    h: int
    param: Gst.Structure | None
    object_id: Gst.Structure | None = None


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

    def param(meta: Any, name: str) -> Gst.Structure | None:
        structure = get_param(meta, name.encode())
        if not structure:
            return None
        text = to_string(structure)
        copy = Gst.Structure.from_string(ctypes.string_at(text).decode())[0]
        free(text)
        return copy

    while meta := iterate(hash(buffer), ctypes.byref(state), hash(roi_api())):
        roi = meta.contents
        label = GLib.quark_to_string(roi.roi_type) or ""
        regions.append(
            Region(
                label, roi.x, roi.y, roi.w, roi.h, param(meta, PARAM_NAME), param(meta, OBJECT_ID)
            )
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
        Region(
            GLib.quark_to_string(m.roi_type) or "",
            m.x,
            m.y,
            m.w,
            m.h,
            m.get_param(PARAM_NAME),
            m.get_param(OBJECT_ID),
        )
        for m in metas
    ]


def read(buffer: Gst.Buffer, size: tuple[int, int] | None = None) -> Detections:
    """The detections carried by a buffer's ROI metas (class names rebuilt from the labels).

    gstreamed's fields come first; DL Streamer's stand in for them (``label_id``, the
    normalised box scaled by the frame ``size`` (width, height) when given, ``object_id``'s
    ``id``). Metas with neither (written by other elements) keep their integer box and label,
    confidence 1 and no track; labels without class ids get ids in order of appearance.
    """
    found = regions(buffer)
    n = len(found)
    xyxy = np.zeros((n, 4), np.float32)
    confidence = np.ones(n, np.float32)
    class_id = np.zeros(n, np.int32)
    track_id = np.full(n, NO_TRACK, np.int64)
    raw_xyxy = np.full((n, 4), np.nan, np.float32)  # NaN: no raw box in the meta
    labels: dict[int, str] = {}
    for i, region in enumerate(found):
        param = region.param
        fields = param if param is not None else Gst.Structure.new_empty(PARAM_NAME)
        xyxy[i] = _box(region, fields, size)
        if fields.has_field("raw_x1"):
            raw_xyxy[i] = [fields.get_value(k) for k in RAW_KEYS]
        label = region.label or (fields.get_value("label") if fields.has_field("label") else "")
        if fields.has_field("class_id"):
            class_id[i] = fields.get_value("class_id")
        elif fields.has_field("label_id"):
            class_id[i] = fields.get_value("label_id")
        else:
            class_id[i] = next((k for k, v in labels.items() if v == label), len(labels))
        if fields.has_field("confidence"):
            confidence[i] = fields.get_value("confidence")
        if fields.has_field("track_id"):
            track_id[i] = fields.get_value("track_id")
        elif region.object_id is not None and region.object_id.has_field("id"):
            track_id[i] = region.object_id.get_value("id")
        labels[int(class_id[i])] = label
    names = [labels.get(k, str(k)) for k in range(max(labels, default=-1) + 1)]
    has_raw = ~np.isnan(raw_xyxy[:, 0])
    raw = np.where(has_raw[:, None], raw_xyxy, xyxy) if has_raw.any() else None
    return Detections(xyxy, confidence, class_id, track_id, names, raw)


def _box(region: Region, fields: Gst.Structure, size: tuple[int, int] | None) -> list[float]:
    """A meta's box in pixels: gstreamed's exact one, DL Streamer's normalised one scaled to
    ``size``, else the meta's integer box."""
    if fields.has_field("x1"):
        return [fields.get_value(k) for k in BOX_KEYS]
    if size is not None and fields.has_field("x_min"):
        width, height = size
        scale = (width, height, width, height)
        keys = ("x_min", "y_min", "x_max", "y_max")
        return [fields.get_value(k) * s for k, s in zip(keys, scale, strict=True)]
    return [region.x, region.y, region.x + region.w, region.y + region.h]


def remove(buffer: Gst.Buffer) -> None:
    """Drop every ROI meta from a writable buffer."""
    while (meta := buffer.get_meta(roi_api().name)) is not None:
        buffer.remove_meta(meta)
