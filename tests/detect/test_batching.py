"""`SharedDetector`: forward passes in flight at once (nireq), each result to its stream."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from models import CAR, PERSON, brightness_yolo

from gstreamed.cores import cpu_cores
from gstreamed.detect.batching import BatchParams, SharedDetector
from gstreamed.detect.detector import load_detector


class _InFlight:
    """Wraps a backend's forward (the real one still runs) and counts the calls in flight;
    each holds a moment first, so that calls that can overlap do."""

    def __init__(self, forward: Callable[[np.ndarray], np.ndarray]) -> None:
        self.forward = forward
        self.now = self.most = 0
        self.lock = threading.Lock()

    def __call__(self, tensor: np.ndarray) -> np.ndarray:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(0.05)
        try:
            return self.forward(tensor)
        finally:
            with self.lock:
                self.now -= 1


def _frames(level: int) -> list[np.ndarray]:
    return [np.full((64, 64, 3), level, np.uint8) for _ in range(6)]


def _play(shared: SharedDetector, streams: dict[int, list[np.ndarray]]) -> dict[int, list]:
    """Each stream's frames through its own handle, the streams on threads of their own;
    the left edges of each frame's boxes."""
    lefts: dict[int, list] = {}
    handles = {level: shared.stream() for level in streams}  # all open before any frame

    def play(level: int) -> None:
        handle = handles[level]
        lefts[level] = [handle.detect(f).xyxy[:, 0].round(2).tolist() for f in streams[level]]
        handle.close()

    threads = [threading.Thread(target=play, args=(level,)) for level in streams]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    shared.close()
    return lefts


@pytest.mark.parametrize(("nireq", "in_flight"), [(0, 2), (1, 1), (4, 4)])
def test_requests_run_at_once_and_each_frame_answers_its_stream(
    tmp_path: Path, nireq: int, in_flight: int
) -> None:
    model = brightness_yolo(tmp_path / "moving.onnx", [CAR, PERSON], 32)  # static batch
    detector = load_detector(model)
    spy = _InFlight(detector.backend.forward)
    detector.backend.forward = spy  # type: ignore[method-assign]
    streams = {level: _frames(level) for level in (0, 85, 170, 255)}
    batching = BatchParams(nireq=nireq, batch_timeout=5000)
    lefts = _play(SharedDetector.from_params(detector, batching), streams)
    assert spy.most == in_flight  # nireq 0 on a CPU: 2 for a static-batch model
    alone = load_detector(model)
    for level, frames in streams.items():  # every frame's boxes are its own stream's
        assert lefts[level] == [alone.detect(f).xyxy[:, 0].round(2).tolist() for f in frames]
    assert len({tuple(v[0]) for v in lefts.values()}) == 4


@pytest.mark.parametrize(("nireq", "largest"), [(0, 2), (1, 4)])
def test_a_dynamic_batch_model_runs_each_requests_share_in_one_batch(
    tmp_path: Path, nireq: int, largest: int
) -> None:
    model = brightness_yolo(tmp_path / "moving.onnx", [CAR, PERSON], 32, dynamic=True)
    batching = BatchParams(batch_timeout=5000, nireq=nireq)
    shared = SharedDetector.from_params(load_detector(model), batching)
    _play(shared, {level: _frames(level) for level in (0, 85, 170, 255)})
    # On a CPU two requests by default, each taking two of the four streams' frames (one
    # each once two streams have ended); one request takes all four.
    assert max(shared.batch_sizes) == largest
    assert shared.batch_sizes[largest] >= 24 // largest - 2
    assert sum(size * n for size, n in shared.batch_sizes.items()) == 24


def _session_threads(shared: SharedDetector) -> int:
    """The intra-op threads of the shared ONNX Runtime session (0: its default)."""
    options = shared.detector.backend.session.get_session_options()  # type: ignore[attr-defined]
    return int(options.intra_op_num_threads)


@pytest.mark.parametrize("threads", [0, 3])
def test_passes_at_once_share_the_cores_unless_a_thread_count_was_set(
    tmp_path: Path, threads: int
) -> None:
    model = brightness_yolo(tmp_path / "moving.onnx", [CAR, PERSON], 32)  # static batch
    shared = SharedDetector(load_detector(model, threads=threads), streams=4)
    handles = [shared.stream() for _ in range(4)]
    assert shared.requests == 2
    assert _session_threads(shared) == (threads or max(1, cpu_cores() // 2))
    for handle in handles[1:]:
        handle.close()  # one stream left: its passes get every core again
    assert _session_threads(shared) == threads
    handles[0].close()
    shared.close()
    alone = SharedDetector(load_detector(model, threads=threads), streams=1)
    alone.stream().close()
    assert alone.requests == 1 and _session_threads(alone) == threads
    alone.close()
    # Streams not known in advance (elements naming an instance): counted as they open.
    named = SharedDetector(load_detector(model, threads=threads))
    first = named.stream()
    assert named.requests == 2 and _session_threads(named) == threads
    second = named.stream()
    assert _session_threads(named) == (threads or max(1, cpu_cores() // 2))
    for handle in (first, second):
        handle.close()
    named.close()
