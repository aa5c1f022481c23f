"""One model, many streams: frames from several threads batched into one forward pass.

A `SharedDetector` owns a loaded `Detector` and ``nireq`` worker threads (DL Streamer's
inference requests: forward passes in flight at once). On a CPU, unless a thread count was
set, each pass in flight gets its share of the cores (`share_cores`): two single-threaded
passes on two cores beat two passes that each ask for both. Each stream takes a
`StreamDetector` (``shared.stream()``), whose ``detect(frame)`` letterboxes the frame on the
caller's thread, hands the tensor to the workers and waits; a free worker runs one forward
pass for the frames waiting (the open streams' share of one request, up to ``batch_size``)
and the callers decode their own boxes. A batch runs as soon as its share of the open
streams has a frame waiting, when ``batch_size`` frames wait, or ``batch_timeout`` after its
first frame, so a slow camera never stalls a fast file. Static-batch models (batch
dimension fixed to 1) still share the session, one frame per forward call; dynamic-batch
models run true batches.

`acquire`/`release` keep named instances (DL Streamer's ``model-instance-id``): elements that
name the same instance share one model.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from gstreamed.backends.base import Backend
from gstreamed.cores import share_of_cores
from gstreamed.detect.detections import Detections
from gstreamed.detect.detector import Detector
from gstreamed.errors import GstreamedError
from gstreamed.params import ParamSet, param

AUTO_BATCH_CAP = 8  # batch-size 0: one frame of each open stream, at most this many
# nireq 0: forward passes in flight at once on a CPU serving several streams, each on its
# share of the cores (yolov8n, ONNX Runtime, 2 cores: two single frames one thread each
# 19.9-21.6 frames/s vs one frame on both 16.9-18.2; a dynamic-batch model, two batches of
# two 20.3-21.4 vs one batch of four 16.3-19.8). An accelerator's throughput comes from
# the batch: one request.
AUTO_CPU_REQUESTS = 2


@dataclass(frozen=True, eq=False)
class BatchParams(ParamSet):
    """How streams share a model: instance name, batch size and timeout, frame skipping."""

    OWNER: ClassVar[str] = "batching"

    model_instance_id: str = param(
        "", "name of a model instance shared by every element that names it (empty: private)"
    )
    batch_size: int = param(
        0,
        "frames per forward pass (0: one of each stream sharing the model, at most "
        f"{AUTO_BATCH_CAP})",
        minimum=0,
        maximum=256,
        aliases=("batch",),
    )
    batch_timeout: float = param(
        20.0,
        "ms to wait for a full batch before running a partial one",
        minimum=0.0,
        maximum=60000.0,
    )
    inference_interval: int = param(
        1,
        "run the detector on every K-th frame of a stream; the tracker predicts in between",
        minimum=1,
        maximum=10000,
        aliases=("detect-every",),
    )
    nireq: int = param(
        0,
        "forward passes in flight at once, each on a batch of its own (0: "
        f"{AUTO_CPU_REQUESTS} on a CPU serving several streams, else 1)",
        minimum=0,
        maximum=64,
    )


def requests_for(backend: Backend, nireq: int = 0, streams: int = 0) -> int:
    """Forward passes a shared ``backend`` runs at once for the ``nireq`` setting (0: auto)
    serving ``streams`` streams (0: not known)."""
    if nireq:
        return nireq
    if backend.device != "cpu":
        return 1
    return min(AUTO_CPU_REQUESTS, streams or AUTO_CPU_REQUESTS)


def share_cores(backend: Backend, passes: int) -> None:
    """Give each of ``passes`` forward passes at once its share of the CPU cores (every core
    for one), unless the user set a thread count or the model runs on an accelerator."""
    if backend.device == "cpu" and not backend.threads:
        backend.set_threads(share_of_cores(passes))


@dataclass(eq=False)
class _Request:
    tensor: np.ndarray  # [3, H, W]
    output: np.ndarray | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class SharedDetector:
    """A `Detector` shared by several streams, batching their frames (see the module doc)."""

    def __init__(
        self,
        detector: Detector,
        batch_size: int = 0,
        batch_timeout_ms: float = 20.0,
        nireq: int = 0,
        streams: int = 0,
    ) -> None:
        self.detector = detector
        self.batch_size = batch_size
        self.batch_timeout = batch_timeout_ms / 1000.0
        self.requests = requests_for(detector.backend, nireq, streams)
        self.batch_sizes: Counter[int] = Counter()  # forward passes by number of frames
        self._expected = streams  # streams to come (0: not known, count them as they open)
        self._streams = 0
        self._pending: list[_Request] = []
        self._first_pending = 0.0
        self._closed = False
        self._ready = threading.Condition()
        self._counted = threading.Lock()  # batch_sizes, updated by every worker
        self._workers: list[threading.Thread] = []

    @classmethod
    def from_params(
        cls, detector: Detector, batching: BatchParams, streams: int = 0
    ) -> SharedDetector:
        """A shared detector with the batch size, timeout and requests of ``batching`` for
        ``streams`` streams (0: not known)."""
        return cls(detector, batching.batch_size, batching.batch_timeout, batching.nireq, streams)

    @property
    def target(self) -> int:
        """Frames the next batch waits for: the open streams' frames (each stream waits for
        its frame before sending the next) shared among the requests, at most the batch
        size."""
        per_request = -(-self._streams // self.requests)
        return max(1, min(self.batch_size or AUTO_BATCH_CAP, per_request))

    def stream(self) -> StreamDetector:
        """A handle for one more stream; ``close()`` it when the stream ends."""
        with self._ready:
            if self._closed:
                raise GstreamedError("the shared model was closed")
            self._streams += 1
            self._share_threads(max(self._streams, self._expected))
            if not self._workers:
                self._workers = [
                    threading.Thread(target=self._work, name=f"gstreamed-batcher-{n}", daemon=True)
                    for n in range(self.requests)
                ]
                for worker in self._workers:
                    worker.start()
        return StreamDetector(self)

    def close(self) -> None:
        """Stop the workers (pending frames still run)."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        for worker in self._workers:
            worker.join()

    def _stream_closed(self) -> None:
        with self._ready:
            self._streams -= 1
            self._ready.notify_all()  # a smaller target may complete the waiting batch
            if self._streams:
                self._share_threads(self._streams)  # the last streams' passes get the idle cores

    def _share_threads(self, streams: int) -> None:
        """Give each forward pass at once, for ``streams`` open streams, its share of the
        cores (called holding ``_ready``; a backend changes its threads only when they
        differ)."""
        share_cores(self.detector.backend, min(self.requests, streams))

    def submit(self, tensor: np.ndarray) -> np.ndarray:
        """The head output for one [1, 3, H, W] tensor, run in the next batch (blocks)."""
        request = _Request(tensor[0])
        with self._ready:
            if not self._pending:
                self._first_pending = time.perf_counter()
            self._pending.append(request)
            self._ready.notify_all()
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.output is not None
        return request.output

    def _next_batch(self) -> list[_Request] | None:
        """Wait for a batch to be due and take it; None once closed with nothing pending."""
        with self._ready:
            while True:
                if self._pending:
                    waited = time.perf_counter() - self._first_pending
                    if len(self._pending) >= self.target or waited >= self.batch_timeout:
                        batch = self._pending[: self.target]
                        self._pending = self._pending[self.target :]
                        self._first_pending = time.perf_counter()
                        return batch
                    self._ready.wait(self.batch_timeout - waited)
                elif self._closed:
                    return None
                else:
                    self._ready.wait()

    def _work(self) -> None:
        stacked = _Stacker()
        while (batch := self._next_batch()) is not None:
            try:
                outputs = self._forward([r.tensor for r in batch], stacked)
                if len(outputs) != len(batch):
                    raise GstreamedError(
                        f"the model gave {len(outputs)} output(s) for a batch of {len(batch)} "
                        "frames: its batch dimension is not really dynamic (use --batch 1)"
                    )
            except BaseException as exc:  # handed to every waiting stream
                for request in batch:
                    request.error = exc
                    request.done.set()
                continue
            for request, output in zip(batch, outputs, strict=True):
                request.output = output
                request.done.set()

    def _forward(self, tensors: list[np.ndarray], stacked: _Stacker) -> list[np.ndarray]:
        """Head outputs of ``tensors``: one call per ``max_batch`` frames; timed per frame."""
        backend = self.detector.backend
        step = max(1, backend.max_batch)
        outputs: list[np.ndarray] = []
        for start in range(0, len(tensors), step):
            chunk = tensors[start : start + step]
            began = time.perf_counter()
            result = backend.forward(stacked(chunk))
            seconds = (time.perf_counter() - began) / len(chunk)
            for _ in chunk:
                self.detector.timings.add("forward", seconds)
            with self._counted:
                self.batch_sizes[len(chunk)] += 1
            outputs.extend(result)
        return outputs


class _Stacker:
    """Stacks one worker's frames into a batch tensor, reusing its buffer: a pass every
    few tens of ms would otherwise allocate (and fault in) megabytes each time."""

    def __init__(self) -> None:
        self._buffer: np.ndarray | None = None

    def __call__(self, tensors: list[np.ndarray]) -> np.ndarray:
        """[N, 3, H, W] of the N [3, H, W] ``tensors`` (valid until the next call)."""
        if len(tensors) == 1:
            return tensors[0][None]
        shape = (len(tensors), *tensors[0].shape)
        if (
            self._buffer is None
            or self._buffer.shape[1:] != shape[1:]
            or len(self._buffer) < len(tensors)
        ):
            self._buffer = np.empty(shape, tensors[0].dtype)
        return np.stack(tensors, out=self._buffer[: len(tensors)])


class StreamDetector:
    """One stream's use of a `SharedDetector`: ``detect(frame)`` like `Detector.detect`."""

    def __init__(self, shared: SharedDetector) -> None:
        self.shared = shared
        self._preprocess = shared.detector.preprocessor()
        self._open = True

    def detect(self, frame: np.ndarray) -> Detections:
        """Detections of one frame, its forward pass batched with other streams' frames."""
        return self.shared.detector.detect_with(frame, self._preprocess, self.shared.submit)

    def close(self) -> None:
        """This stream sends no more frames (idempotent)."""
        if self._open:
            self._open = False
            self.shared._stream_closed()


@dataclass(eq=False)
class _Instance:
    shared: SharedDetector
    users: int = 0


_INSTANCES: dict[str, _Instance] = {}
_INSTANCES_LOCK = threading.Lock()


def acquire(name: str, create: Callable[[], SharedDetector]) -> SharedDetector:
    """The shared model instance ``name``, made by ``create`` if nobody holds it yet."""
    with _INSTANCES_LOCK:
        instance = _INSTANCES.get(name)
        if instance is None:
            instance = _INSTANCES[name] = _Instance(create())
        instance.users += 1
        return instance.shared


def release(name: str) -> None:
    """Give back one hold on instance ``name``; the last one closes it."""
    with _INSTANCES_LOCK:
        instance = _INSTANCES.get(name)
        if instance is None:
            return
        instance.users -= 1
        if instance.users > 0:
            return
        del _INSTANCES[name]
    instance.shared.close()
