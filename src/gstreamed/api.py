"""The Python API without the CLI: load a detector, track, or process whole inputs in one call."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from gstreamed.detect.batching import BatchParams
from gstreamed.detect.detector import Detector, load_detector
from gstreamed.errors import GstreamedError
from gstreamed.track import DEFAULT_TRACKER, create_tracker

if TYPE_CHECKING:
    from gstreamed.gst.run import InputResult

__all__ = ["load_detector", "process_file", "process_files"]


def process_files(
    sources: Sequence[str | Path],
    output: str | Path | None = None,
    *,
    detector: Detector | None = None,
    model: str | Path | None = None,
    json: str | Path | None = None,
    mot: str | Path | None = None,
    tracker: str | None = DEFAULT_TRACKER,
    tracker_params: dict[str, Any] | None = None,
    force: bool = False,
    write_media: bool = True,
    audio: bool = True,
    batch_size: int = 0,
    batch_timeout: float = 20.0,
    detect_every: int = 1,
    progress: bool = False,
    ray: str | None = None,
    cluster: dict[str, Any] | None = None,
    **detector_options: Any,
) -> list[InputResult]:
    """Detect (and track, unless ``tracker=None``) objects in several inputs at once, in this
    process, with one shared model whose forward passes batch the inputs' frames.

    ``sources``: files, folders, glob patterns, URIs, cameras. ``output``: the annotated
    file (one input) or the folder of default-named files (several; default: the CLI's
    naming beside each input). ``json``: one JSON Lines file (with several inputs each object
    carries its ``source``); ``mot``: a file (one input) or a folder of ``NAME.txt``.
    ``batch_size`` (0: one frame per input, at most 8), ``batch_timeout`` (ms) and
    ``detect_every`` are the `BatchParams`; ``detector_options`` go to `load_detector` when no
    ``detector`` is given. Returns one `InputResult` per input, in order; an input that fails
    is reported in its result and does not stop the others. Outputs that already exist raise
    `GstreamedError` (unless ``force``) before anything runs.

    ``ray``: run the inputs on the worker processes of a Ray cluster instead of in this process
    (see `gstreamed.gst.cluster`): ``"local"`` starts one for the call, ``"auto"`` or
    ``"ray://HOST:PORT"`` joins one; a process already connected with ``ray.init`` uses its
    connection. Each worker loads ``model`` itself (so no ``detector``); ``cluster`` holds
    the `gstreamed.cluster.ClusterParams` (``workers``, ``worker_cpus``, ``worker_gpus``,
    ``worker_retries``).
    """
    from gstreamed.cluster import ClusterParams
    from gstreamed.gst.cluster import run_on_cluster
    from gstreamed.gst.runner import Runner, make_inputs

    if ray is not None and detector is not None:
        raise GstreamedError("with ray, give model= (each worker loads it), not detector=")
    cluster_params = ClusterParams.from_values(cluster or {})

    inputs = make_inputs(
        [str(s) for s in sources],
        Path(output) if output is not None else None,
        no_media=not write_media,
        json=Path(json) if json else None,
        mot=Path(mot) if mot else None,
        audio=audio,
        force=force,
    )
    batching = BatchParams.from_values(
        {
            "batch_size": batch_size,
            "batch_timeout": batch_timeout,
            "inference_interval": detect_every,
        }
    )
    make_tracker = None
    if tracker is not None:
        params = dict(tracker_params or {})
        create_tracker(tracker, **params)  # bad parameters fail before any pipeline starts

        def make_tracker(rate: float | None) -> Any:
            return create_tracker(tracker, rate, **params)

    if ray is not None:
        load_detector(model, **detector_options)  # a bad model fails here, not in every worker
        return run_on_cluster(
            inputs,
            partial(load_detector, model, **detector_options),
            address=ray,
            params=cluster_params,
            batching=batching,
            make_tracker=make_tracker,
            progress=progress,
            force=force,
        ).results
    if detector is None:
        detector = load_detector(model, **detector_options)
    runner = Runner(
        inputs, detector, batching=batching, make_tracker=make_tracker, progress=progress
    )
    return runner.run().results


@overload
def process_file(
    source: str | Path, output: str | Path | None = None, **options: Any
) -> InputResult: ...


@overload
def process_file(
    source: Sequence[str | Path], output: str | Path | None = None, **options: Any
) -> list[InputResult]: ...


def process_file(
    source: str | Path | Sequence[str | Path], output: str | Path | None = None, **options: Any
) -> InputResult | list[InputResult]:
    """One input (a video or image file, URI or camera): its `InputResult` (frames, seconds,
    outputs, timings); a failure raises `GstreamedError`. A list of inputs is
    `process_files`. ``options`` are those of `process_files`.
    """
    if not isinstance(source, (str, Path)):
        return process_files(source, output, **options)
    (result,) = process_files([source], output, **options)
    if result.error is not None:
        raise GstreamedError(result.error)
    return result
