"""DL Streamer's metadata fields, both ways: gstreamed's elements write them beside their own,
and read (track, draw) buffers that carry only DL Streamer-shaped ROI metas."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gstreamed.gst import Gst, init, meta

pytestmark = pytest.mark.timeout(90)

WIDTH, HEIGHT = 320, 240


@pytest.fixture(scope="module", autouse=True)
def _elements() -> None:
    init()


def _structures(buffer: Gst.Buffer) -> list[dict[str, str]]:
    """Each ROI meta's parameter structures, serialised, by structure name."""
    from gi.repository import GstVideo

    found = []
    for index in range(buffer.get_n_meta(GstVideo.VideoRegionOfInterestMeta.get_info().api)):
        roi = GstVideo.buffer_get_video_region_of_interest_meta_id(buffer, index)
        found.append(
            {
                name: structure.to_string()
                for name in ("detection", "object_id")
                if (structure := roi.get_param(name)) is not None
            }
        )
    return found


def test_detect_and_track_write_both_field_sets(model: Path) -> None:
    pipeline = Gst.parse_launch(
        f"videotestsrc num-buffers=3 ! video/x-raw,width={WIDTH},height={HEIGHT} ! "
        "videoconvert ! video/x-raw,format=RGB ! gstreamed_detect name=detect ! "
        "gstreamed_track name=track tracker=sort sort-box=detection ! fakesink name=sink"
    )
    pipeline.get_by_name("detect").set_property("model", str(model))
    seen: dict[str, list[list[dict[str, str]]]] = {"detect": [], "track": []}

    def probe(_pad: Gst.Pad, info: Gst.PadProbeInfo, name: str) -> Gst.PadProbeReturn:
        seen[name].append(_structures(info.get_buffer()))
        return Gst.PadProbeReturn.OK

    for name in seen:
        pad = pipeline.get_by_name(name).get_static_pad("src")
        pad.add_probe(Gst.PadProbeType.BUFFER, probe, name)
    pipeline.set_state(Gst.State.PLAYING)
    try:
        message = pipeline.get_bus().timed_pop_filtered(
            60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR
        )
        assert message is not None and message.type == Gst.MessageType.EOS
    finally:
        pipeline.set_state(Gst.State.NULL)
    assert len(seen["detect"]) == len(seen["track"]) == 3
    # The car box of the constant model on 320x240: x 110..210, y 80..160.
    car = next(m for m in seen["track"][-1] if "label=(string)car" in m["detection"])
    detection = car["detection"]
    for field in (
        "class_id=(int)1",
        "label_id=(int)1",
        "track_id=(int)",
        "x1=(double)110",
        "y2=(double)160",
        "x_min=(double)0.34375",
        "y_min=(double)0.33333",
        "x_max=(double)0.65625",
        "y_max=(double)0.66666",
        "confidence=(double)0.",
    ):
        assert field in detection, (field, detection)
    track_id = int(detection.split("track_id=(int)")[1].split(",")[0])
    assert track_id >= 1 and car["object_id"] == f"object_id, id=(int){track_id};"
    # Before tracking no detection has an object_id.
    assert all(
        "object_id" not in m and "track_id=(int)-1" in m["detection"] for m in seen["detect"][0]
    )


def _dlstreamer_buffer(frame: int) -> Gst.Buffer:
    """A black RGB frame with one DL Streamer-shaped ROI meta, as gvadetect + gvatrack write
    it: pixel box rounded in the meta, exact normalised box, label_id and confidence in
    ``detection``, the track in ``object_id``. The box moves 4 px right a frame."""
    from gi.repository import GstVideo

    buffer = Gst.Buffer.new_wrapped(bytes(WIDTH * HEIGHT * 3))
    buffer.pts, buffer.duration = frame * Gst.SECOND // 10, Gst.SECOND // 10
    x1, y1, x2, y2 = 40.5 + 4 * frame, 60.25, 140.5 + 4 * frame, 180.75
    roi = GstVideo.buffer_add_video_region_of_interest_meta(
        buffer, "truck", round(x1), round(y1), round(x2 - x1), round(y2 - y1)
    )
    detection = Gst.Structure.new_empty("detection")
    for key, value in zip(
        ("x_min", "y_min", "x_max", "y_max"),
        (x1 / WIDTH, y1 / HEIGHT, x2 / WIDTH, y2 / HEIGHT),
        strict=True,
    ):
        detection.set_value(key, value)
    detection.set_value("confidence", 0.75)
    detection.set_value("label_id", 7)
    roi.add_param(detection)
    object_id = Gst.Structure.new_empty("object_id")
    object_id.set_value("id", 42)
    roi.add_param(object_id)
    return buffer


def test_read_dlstreamer_metas() -> None:
    found = meta.read(_dlstreamer_buffer(0), (WIDTH, HEIGHT))
    np.testing.assert_allclose(found.xyxy, [[40.5, 60.25, 140.5, 180.75]], rtol=1e-6)
    assert found.confidence.tolist() == [0.75] and found.class_id.tolist() == [7]
    assert found.track_id.tolist() == [42] and found.class_names == ["truck"]
    # Without the frame size only the meta's integer box is known.
    assert meta.read(_dlstreamer_buffer(0)).xyxy.tolist() == [[40, 60, 140, 180]]


def test_read_dlstreamer_metas_with_their_own_ids() -> None:
    """DL Streamer numbers regions its own way: read through the C meta iterator."""
    from gi.repository import GstVideo

    buffer = _dlstreamer_buffer(0)
    GstVideo.buffer_get_video_region_of_interest_meta_id(buffer, 0).id = 17
    second = GstVideo.buffer_add_video_region_of_interest_meta(buffer, "bus", 0, 0, 32, 24)
    second.id = 3
    detection = Gst.Structure.new_empty("detection")
    detection.set_value("label_id", 5)
    detection.set_value("confidence", 0.5)
    second.add_param(detection)
    found = meta.read(buffer, (WIDTH, HEIGHT))
    assert found.class_names == ["truck", "bus"] and found.class_id.tolist() == [7, 5]
    assert found.track_id.tolist() == [42, -1] and found.confidence.tolist() == [0.75, 0.5]
    np.testing.assert_allclose(found.xyxy[0], [40.5, 60.25, 140.5, 180.75], rtol=1e-6)
    assert found.xyxy[1].tolist() == [0, 0, 32, 24]


def test_track_and_overlay_use_dlstreamer_metas() -> None:
    pipeline = Gst.parse_launch(
        "appsrc name=src format=time ! "
        f"video/x-raw,format=RGB,width={WIDTH},height={HEIGHT},framerate=10/1 ! "
        "gstreamed_track name=track tracker=sort sort-box=detection ! tee name=split "
        "split. ! queue ! appsink name=tracked sync=false "
        "split. ! queue ! gstreamed_overlay ! appsink name=drawn sync=false"
    )
    pipeline.get_by_name("track").set_property("sort-min-hits", 1)
    src = pipeline.get_by_name("src")
    pipeline.set_state(Gst.State.PLAYING)
    got: dict[str, list[Gst.Sample]] = {"tracked": [], "drawn": []}
    try:
        for frame in range(4):
            assert src.emit("push-buffer", _dlstreamer_buffer(frame)) == Gst.FlowReturn.OK
        src.emit("end-of-stream")
        for name, samples in got.items():
            sink = pipeline.get_by_name(name)
            while (sample := sink.emit("try-pull-sample", 30 * Gst.SECOND)) is not None:
                samples.append(sample)
        assert pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR) is None
    finally:
        pipeline.set_state(Gst.State.NULL)
    assert len(got["tracked"]) == len(got["drawn"]) == 4
    for frame, sample in enumerate(got["tracked"]):
        tracked = meta.read(sample.get_buffer(), (WIDTH, HEIGHT))
        np.testing.assert_allclose(
            tracked.xyxy, [[40.5 + 4 * frame, 60.25, 140.5 + 4 * frame, 180.75]], atol=0.01
        )
        assert tracked.class_names == ["truck"] and tracked.class_id.tolist() == [7]
        assert tracked.confidence.tolist() == [0.75]
        assert tracked.track_id.tolist() == [1]  # gstreamed_track's own id
    last = got["drawn"][-1].get_buffer()
    with last.map(Gst.MapFlags.READ) as info:
        pixels = np.frombuffer(info.data, np.uint8).reshape(HEIGHT, WIDTH, 3)
        # The last box, x 52.5..152.5, y 60.25..180.75, is drawn where it is.
        bottom_edge, right_edge = pixels[181, 60:150], pixels[100:170, 152]
        assert (bottom_edge.max(axis=1) > 0).all() and (right_edge.max(axis=1) > 0).all()
        assert pixels[100:170, 60:150].max() == 0  # its inside stays untouched
        assert pixels[200:, 200:].max() == 0  # and nothing far from it
