"""`gstreamed.stream`: processed frames as a Python iterator, over real pipelines."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import media
import numpy as np
import pytest

import gstreamed

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def detector(model: Path) -> gstreamed.Detector:
    return gstreamed.load_detector(model)


def _os_threads() -> int:
    return len(os.listdir("/proc/self/task"))


def test_frames_of_a_clip(detector, clips: dict[str, Path]) -> None:
    frames = list(gstreamed.stream(clips["mp4"], detector=detector))
    assert [f.index for f in frames] == list(range(10))
    assert [f.pts for f in frames] == pytest.approx([i / 10 for i in range(10)])
    assert {f.image.shape for f in frames} == {(120, 160, 3)}
    assert {f.image.dtype for f in frames} == {np.dtype(np.uint8)}
    assert {f.source for f in frames} == {str(clips["mp4"])}
    assert all(sorted(f.detections.class_names) == ["car", "person"] for f in frames)
    assert sorted(frames[-1].detections.track_id.tolist()) == [1, 2]
    # The pictures are the decoded frames themselves, kept safely after the loop.
    for frame, decoded in zip(frames, media.decode_frames(clips["mp4"]), strict=True):
        np.testing.assert_array_equal(frame.image, decoded)


def test_detections_match_process_file_json(
    detector, clips: dict[str, Path], tmp_path: Path
) -> None:
    results = tmp_path / "results.jsonl"
    gstreamed.process_file(clips["webm"], json=results, write_media=False, detector=detector)
    written = [json.loads(line) for line in results.read_text().splitlines()]
    streamed = [
        {"frame": f.index, "pts": f.pts, "detections": f.detections.to_records()}
        for f in gstreamed.stream(clips["webm"], detector=detector)
    ]
    assert len(written) == len(streamed) == 10
    for mine, theirs in zip(streamed, written, strict=True):
        assert mine["pts"] == pytest.approx(theirs["pts"])
        assert (mine["frame"], mine["detections"]) == (theirs["frame"], theirs["detections"])


def test_break_stops_the_pipeline_at_once(detector, tmp_path: Path) -> None:
    clip = media.make_video(tmp_path / "long.mp4", frames=100)
    list(gstreamed.stream(clip, detector=detector))  # GStreamer's thread pool is warm now
    python_threads, os_threads = threading.active_count(), _os_threads()

    def leaving_early() -> None:
        for frame in gstreamed.stream(clip, detector=detector):
            if frame.index == 2:
                break
        frames = gstreamed.stream(clip, detector=detector)
        next(frames)
        frames.close()
        with pytest.raises(RuntimeError, match="stop here"):
            for frame in gstreamed.stream(clip, detector=detector):
                if frame.index == 1:
                    raise RuntimeError("stop here")

    for _ in range(3):
        started = time.perf_counter()
        leaving_early()
        assert time.perf_counter() - started < 10
    assert threading.active_count() == python_threads
    # A pipeline left playing keeps several streaming threads (demuxer, decoder, queues)
    # blocked: nine such runs would add dozens. Allow for an unrelated one or two.
    assert _os_threads() <= os_threads + 2


def test_a_slow_consumer_slows_the_pipeline(detector, tmp_path: Path) -> None:
    clip = media.make_video(tmp_path / "slow.mp4", frames=40)
    results = tmp_path / "slow.jsonl"
    seen = 0
    for frame in gstreamed.stream(clip, detector=detector, json=results):
        seen += 1
        if frame.index in (0, 20):
            time.sleep(1.0)  # plenty of time for an unbounded pipeline to run to the end
            # The JSON file is written under its temporary name until the run ends.
            (written,) = tmp_path.glob(".slow.jsonl.*.partial")
            ahead = len(written.read_text().splitlines()) - seen
            assert ahead <= 5, f"{ahead} frames processed ahead of the consumer"
    assert seen == 40 and len(results.read_text().splitlines()) == 40


def test_output_rides_along(detector, clips: dict[str, Path], tmp_path: Path) -> None:
    output = tmp_path / "annotated.mkv"
    clip = media.make_video(tmp_path / "clip.mp4", frames=40)
    decoded = media.decode_frames(clip)
    for frame in gstreamed.stream(clip, output, detector=detector):
        # The frames stay unannotated while the file gets the boxes.
        np.testing.assert_array_equal(frame.image, decoded[frame.index])
        if frame.index == 4:
            break
    info = media.probe(output)  # finalised: playable, with what was decoded before the stop
    assert (info.video_codec, info.width, info.height) == ("video/x-h264", 160, 120)
    assert 5 <= info.frames < 40
    annotated = media.decode_frames(output)[0]
    assert annotated is not None and np.abs(annotated.astype(int) - decoded[0]).mean() > 1


def test_an_image_is_one_frame(detector, images: dict[str, Path]) -> None:
    (frame,) = gstreamed.stream(images["png"], detector=detector)
    assert (frame.index, frame.pts, frame.image.shape) == (0, None, (120, 160, 3))
    assert sorted(frame.detections.class_names) == ["car", "person"]


def test_several_sources_share_the_model(
    detector, clips: dict[str, Path], images: dict[str, Path]
) -> None:
    sources = [clips["mp4"], clips["mkv"], images["jpg"]]
    by_source: dict[str, list[int]] = {}
    for frame in gstreamed.stream(sources, detector=detector):
        by_source.setdefault(frame.source, []).append(frame.index)
    assert by_source == {
        str(clips["mp4"]): list(range(10)),
        str(clips["mkv"]): list(range(10)),
        str(images["jpg"]): [0],
    }


def test_bad_sources_raise_one_line(detector, tmp_path: Path, clips: dict[str, Path]) -> None:
    with pytest.raises(gstreamed.GstreamedError, match="input not found") as missing:
        gstreamed.stream(tmp_path / "missing.mp4", detector=detector)
    assert "\n" not in str(missing.value)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    got = []
    with pytest.raises(gstreamed.GstreamedError, match=r"junk\.mp4") as failed:
        for frame in gstreamed.stream([clips["mp4"], junk], detector=detector):
            got.append(frame.index)
    assert "\n" not in str(failed.value)
    assert got == list(range(10))  # the good input ran to its end first


def test_progress_rides_along(detector, clips: dict[str, Path], capsys) -> None:
    assert len(list(gstreamed.stream(clips["mp4"], detector=detector, progress=True))) == 10
    assert "10/10" in capsys.readouterr().err
