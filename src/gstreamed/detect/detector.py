"""`Detector`: frame → letterbox tensor → backend forward → decoded `Detections`."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gstreamed.backends import Backend
from gstreamed.detect.decode import candidates, nms
from gstreamed.detect.detections import Detections
from gstreamed.detect.params import DetectionParams, ModelParams
from gstreamed.detect.preprocess import Letterbox, Preprocessor
from gstreamed.errors import GstreamedError
from gstreamed.timing import Timings


def resolve_classes(
    classes: Sequence[str | int] | str | None, names: Sequence[str]
) -> np.ndarray | None:
    """Class ids from names or ids (``"person,car"`` or a list); ``None`` keeps all classes."""
    if classes is None or classes == "" or classes == []:
        return None
    items = classes.split(",") if isinstance(classes, str) else list(classes)
    ids = []
    for item in items:
        text = str(item).strip()
        if text.isdigit() and int(text) < len(names):
            ids.append(int(text))
        elif text in names:
            ids.append(names.index(text))
        else:
            raise GstreamedError(
                f"unknown class {text!r}; this model knows: "
                f"{', '.join(names[:20])}{' ...' if len(names) > 20 else ''}"
            )
    return np.asarray(sorted(set(ids)), np.int64)


class Detector:
    """Runs a YOLO detection model on RGB frames and returns boxes in frame pixels.

    ``options`` are `DetectionParams` (conf, iou, classes, max_det, agnostic_nms).
    """

    def __init__(self, backend: Backend, timings: Timings | None = None, **options: Any) -> None:
        self.params = DetectionParams.from_values(options)
        self.backend = backend
        self.names = backend.info.names
        self.input_size = backend.info.input_size
        self.classes = resolve_classes(self.params.classes, self.names)
        self.layout = backend.layout
        self.timings = timings if timings is not None else Timings()
        self._preprocess = self.preprocessor()

    @classmethod
    def from_model(cls, model: str | Path, **options: Any) -> Detector:
        """`load_detector` (``options``: backend, device, ..., conf, iou, ...)."""
        return load_detector(model, **options)

    def detect(self, frame: np.ndarray) -> Detections:
        """Detections of one RGB (or grayscale/RGBA) frame, boxes in its pixels."""
        return self.detect_with(frame, self._preprocess, self.forward_one)

    def forward_one(self, tensor: np.ndarray) -> np.ndarray:
        """The head output of the one image in ``tensor`` ([1, 3, H, W]), timed as "forward"."""
        start = time.perf_counter()
        output = self.backend.forward(tensor)[0]
        self.timings.add("forward", time.perf_counter() - start)
        return output

    def detect_with(
        self,
        frame: np.ndarray,
        preprocess: Preprocessor,
        forward: Callable[[np.ndarray], np.ndarray],
    ) -> Detections:
        """`detect` with a given letterbox buffer and forward pass (one image's head output
        for a [1, 3, H, W] tensor; it records its own time): how streams share a model."""
        t0 = time.perf_counter()
        tensor, placement = preprocess(frame)
        t1 = time.perf_counter()
        output = forward(tensor)
        t2 = time.perf_counter()
        result = self.decode(output, placement)
        self.timings.add("preprocess", t1 - t0)
        self.timings.add("postprocess", time.perf_counter() - t2)
        return result

    def preprocessor(self) -> Preprocessor:
        """A letterbox buffer of this model's input size, for one more thread."""
        return Preprocessor(self.input_size, batch=1)

    def decode(self, output: np.ndarray, placement: Letterbox) -> Detections:
        """Detections from one image's head output and its letterbox placement."""
        raw = candidates(output, self.layout, self.params.conf, self.classes)
        if self.layout == "end2end":
            keep = np.argsort(-raw.confidence, kind="stable")[: self.params.max_det]
        else:
            keep = nms(raw, self.params.iou, self.params.max_det, self.params.agnostic_nms)
        return Detections(
            placement.to_frame(raw.xyxy[keep]),
            raw.confidence[keep],
            raw.class_id[keep],
            names=self.names,
        )


def load_detector(
    model: str | Path | None = None, timings: Timings | None = None, **options: Any
) -> Detector:
    """A `Detector` for ``model`` (default: ``$GSTREAMED_MODEL``, else the cached default).

    ``options`` are `ModelParams` (backend, device, threads, half, imgsz) and
    `DetectionParams` (conf, iou, classes, max_det, agnostic_nms).
    """
    model_names = {p.name for p in ModelParams.params()}
    model_options = {k: v for k, v in options.items() if k in model_names}
    detection = {k: v for k, v in options.items() if k not in model_names}
    backend = ModelParams.from_values({"model": model, **model_options}).load()
    return Detector(backend, timings=timings, **detection)
