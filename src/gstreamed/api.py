"""The Python API without the CLI: load a detector, track, or process a whole file in one call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gstreamed.detect.detector import Detector, load_detector
from gstreamed.outputs import Outputs
from gstreamed.timing import Timings


def process_file(
    source: str | Path,
    output: str | Path | None = None,
    *,
    detector: Detector | None = None,
    model: str | Path | None = None,
    json: str | Path | None = None,
    mot: str | Path | None = None,
    tracker: str | None = "sort",
    tracker_params: dict[str, Any] | None = None,
    force: bool = False,
    **detector_options: Any,
) -> Any:
    """Detect (and track, unless ``tracker=None``) objects in a video or image file, URI or
    camera, writing the annotated media (default: the CLI's naming) and optional JSON Lines /
    MOTChallenge results. Returns the run's `RunResult` (frames, seconds, timings).
    """
    from gstreamed.gst.run import InputPipeline
    from gstreamed.gst.sources import classify
    from gstreamed.track import create_tracker

    src = classify(str(source))
    outputs = Outputs(
        media=Path(output) if output is not None else src.default_output,
        json=Path(json) if json else None,
        mot=Path(mot) if mot else None,
    )
    outputs.check(force)
    if detector is None:
        detector = load_detector(model, **detector_options)
    detector.timings = Timings()
    make_tracker = None
    if tracker is not None and not src.is_image:
        params = dict(tracker_params or {})
        create_tracker(tracker, **params)  # validate before the pipeline starts

        def make_tracker(rate: float | None) -> Any:
            return create_tracker(tracker, rate, **params)

    return InputPipeline(src, detector, outputs, make_tracker).run()
