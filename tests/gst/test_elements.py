"""The GStreamer elements: in-process (``gstreamed launch``, appsink), through the Python
plugin loader (gst-inspect-1.0 / gst-launch-1.0), and the ROI metas they exchange."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import media
import pytest

from gstreamed.detect.detections import Detections
from gstreamed.gst import init, meta

pytestmark = pytest.mark.timeout(90)

CliRunner = Callable[..., subprocess.CompletedProcess]
RGB_SOURCE = (
    "videotestsrc num-buffers={n} ! video/x-raw,width=320,height=240 ! videoconvert ! "
    "video/x-raw,format=RGB"
)


@pytest.fixture(scope="module")
def gst() -> object:
    init()
    from gi.repository import Gst

    return Gst


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment `gstreamed env` describes (with the cache in a temporary directory,
    as the CLI fixtures have it), plus a private plugin registry."""
    if shutil.which("gst-inspect-1.0") is None:
        pytest.skip("gst-inspect-1.0 is not installed")
    from gstreamed.commands.env import plugin_environment

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GSTREAMED_CACHE", str(tmp_path_factory.mktemp("cache")))
        env = dict(os.environ, **plugin_environment())
    env["GST_REGISTRY"] = str(tmp_path_factory.mktemp("registry") / "registry.bin")
    return env


def test_launch_runs_the_elements_in_process(model: Path, cli: CliRunner) -> None:
    proc = cli(
        "launch",
        f"{RGB_SOURCE.format(n=5)} ! gstreamed_detect model={model} ! "
        "gstreamed_track ! gstreamed_overlay ! videoconvert ! fakesink",
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "5 frames" in proc.stderr and "forward pass" in proc.stderr


def test_launch_reports_bad_pipelines_and_models(
    cli: CliRunner, user_error, tmp_path: Path
) -> None:
    user_error(cli("launch", "videotestsrc ! nosuchelement ! fakesink"), "invalid pipeline")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00" * 100)
    proc = cli("launch", f"{RGB_SOURCE.format(n=2)} ! gstreamed_detect model={junk} ! fakesink")
    user_error(proc, "junk.onnx")


LOADER_CRASH = "Caught a segmentation fault while loading plugin file"


def gst_tool(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run gst-inspect-1.0 / gst-launch-1.0, each attempt with a registry of its own.

    gst-python 1.22's plugin loader crashes now and then inside its own plugin_init
    (PyList_Insert; with this project's code and with the seed's alike), GStreamer reports
    the segfault above and blacklists the loader in that registry. Such a run is repeated, at
    most five times; any other failure is returned as it is."""
    for attempt in range(6):
        with tempfile.TemporaryDirectory(prefix="gst-registry-") as folder:
            registry = {"GST_REGISTRY": str(Path(folder) / f"registry{attempt}.bin")}
            proc = subprocess.run(
                argv, env={**env, **registry}, capture_output=True, text=True, timeout=60
            )
        if LOADER_CRASH not in proc.stdout + proc.stderr:
            break
    return proc


def test_gst_inspect_lists_elements_and_properties(plugin_env: dict[str, str]) -> None:
    for element, properties in [
        ("gstreamed_detect", ("model", "conf", "iou", "classes", "max-det", "device", "backend")),
        ("gstreamed_track", ("tracker", "bytetrack-")),
        ("gstreamed_overlay", ("thickness", "show-confidence")),
    ]:
        proc = gst_tool(["gst-inspect-1.0", element], plugin_env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "video/x-raw" in proc.stdout
        for name in properties:
            assert f"  {name}" in proc.stdout, (element, name)


def test_gst_launch_writes_a_decodable_file(
    plugin_env: dict[str, str], model: Path, tmp_path: Path
) -> None:
    output = tmp_path / "annotated.mkv"
    pipeline = (
        f"{RGB_SOURCE.format(n=6)} ! gstreamed_detect model={model} ! gstreamed_track ! "
        "gstreamed_overlay ! videoconvert ! video/x-raw,format=I420 ! x264enc ! "
        f"matroskamux ! filesink location={output}"
    )
    proc = gst_tool(["gst-launch-1.0", "-q", *pipeline.split()], plugin_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    info = media.probe(output)
    assert (info.video_codec, info.width, info.height, info.frames) == ("video/x-h264", 320, 240, 6)


def _pull_buffers(gst, description: str, sinks: tuple[str, ...]) -> dict[str, list]:
    """Run a pipeline with appsinks to EOS; returns each sink's buffers."""
    pipeline = gst.parse_launch(description)
    pipeline.set_state(gst.State.PLAYING)
    got: dict[str, list] = {name: [] for name in sinks}
    try:
        for name in sinks:
            sink = pipeline.get_by_name(name)
            while (sample := sink.try_pull_sample(30 * gst.SECOND)) is not None:
                got[name].append(sample.get_buffer())
        assert pipeline.get_bus().pop_filtered(gst.MessageType.ERROR) is None
    finally:
        pipeline.set_state(gst.State.NULL)
    return got


def test_roi_metas_after_track(gst, model: Path) -> None:
    from gi.repository import GLib, GstVideo

    buffers = _pull_buffers(
        gst,
        f"{RGB_SOURCE.format(n=4)} ! gstreamed_detect model={model} ! "
        "gstreamed_track tracker=sort ! appsink name=out sync=false",  # still boxes stay exact
        ("out",),
    )["out"]
    assert len(buffers) == 4
    api = GstVideo.VideoRegionOfInterestMeta.get_info().api
    for buffer in buffers:
        detections = meta.read(buffer)
        assert sorted(detections.class_names) == ["car", "person"]
        assert sorted(detections.track_id.tolist()) == [1, 2]
        # The raw GstVideo API sees exactly these metas (the tracker replaced, not added).
        assert buffer.get_n_meta(api) == 2
        for index in range(2):
            roi = GstVideo.buffer_get_video_region_of_interest_meta_id(buffer, index)
            label = GLib.quark_to_string(roi.roi_type)
            param = roi.get_param("detection")
            assert label == {0: "person", 1: "car"}[param.get_value("class_id")]
            assert 0 < param.get_value("confidence") <= 1
            assert param.get_value("track_id") in (1, 2)
            if label == "car":  # 320x240: scale 0.2, pad_y 8
                assert (roi.x, roi.y, roi.w, roi.h) == (110, 80, 100, 80)


def test_frames_the_detector_skipped_get_predicted_tracks(gst, model: Path) -> None:
    buffers = _pull_buffers(
        gst,
        f"{RGB_SOURCE.format(n=9)} ! gstreamed_detect model={model} inference-interval=3 ! "
        "gstreamed_track tracker=sort ! appsink name=out sync=false",  # still boxes stay exact
        ("out",),
    )["out"]
    assert len(buffers) == 9
    for buffer in buffers:
        detections = meta.read(buffer)
        assert sorted(detections.track_id.tolist()) == [1, 2]
        car = detections[[n == "car" for n in detections.class_names]]
        assert car.xyxy.tolist() == [pytest.approx([110, 80, 210, 160], abs=0.01)]


def test_meta_read_any_ids(gst) -> None:
    """ROI metas from other elements: repeated or arbitrary ids, no ``detection`` params."""
    from gi.repository import GstVideo

    buffer = gst.Buffer.new_allocate(None, 16, None)
    for index, (label, roi_id) in enumerate([("face", 0), ("face", 0), ("hand", 7)]):
        roi = GstVideo.buffer_add_video_region_of_interest_meta(
            buffer, label, index * 10, 5, 20, 30
        )
        roi.id = roi_id
    found = meta.read(buffer)
    assert found.class_names == ["face", "face", "hand"]
    assert found.xyxy.tolist() == [[0, 5, 20, 35], [10, 5, 30, 35], [20, 5, 40, 35]]
    assert found.track_id.tolist() == [-1, -1, -1]

    ours = gst.Buffer.new_allocate(None, 16, None)
    meta.attach(
        ours,
        Detections(
            [[1.5, 2, 30, 40], [5, 6, 7, 8.25]], [0.9, 0.5], [2, 0], [3, -1], names=["a", "b", "c"]
        ),
        64,
        48,
    )
    GstVideo.buffer_get_video_region_of_interest_meta_id(ours, 0).id = 42
    back = meta.read(ours)
    assert back.xyxy.tolist() == [[1.5, 2, 30, 40], [5, 6, 7, 8.25]]
    assert back.class_names == ["c", "a"] and back.track_id.tolist() == [3, -1]
    assert back.confidence.tolist() == pytest.approx([0.9, 0.5])
    assert back.raw_xyxy is None

    tracked = gst.Buffer.new_allocate(None, 16, None)
    meta.attach(
        tracked,
        Detections(
            [[1.5, 2, 30, 40], [5, 6, 7, 8]],
            [0.9, 0.5],
            [0, 0],
            [1, -1],
            ["a"],
            [[1, 2, 31, 40]] * 2,
        ),
        64,
        48,
    )
    back = meta.read(tracked)
    assert back.xyxy.tolist() == [[1.5, 2, 30, 40], [5, 6, 7, 8]]
    # a tracker's box past the frame's top-left corner: the integer box is clipped
    past = gst.Buffer.new_allocate(None, 16, None)
    meta.attach(past, Detections([[-5.5, -2, 30, 40]], [0.9], [0], [1], ["a"]), 64, 48)
    roi = GstVideo.buffer_get_video_region_of_interest_meta_id(past, 0)
    assert (roi.x, roi.y, roi.w, roi.h) == (0, 0, 30, 40)
    assert meta.read(past).xyxy.tolist() == [[-5.5, -2, 30, 40]]
    assert back.raw_xyxy.tolist() == [[1, 2, 31, 40]] * 2


def test_two_trackers_never_share_ids(gst, model: Path) -> None:
    branch = (
        "{src} ! gstreamed_detect model={model} ! gstreamed_track ! "
        "appsink name={name} sync=false max-buffers=0"
    )
    description = " ".join(
        branch.format(src=RGB_SOURCE.format(n=3), model=model, name=name)
        for name in ("left", "right")
    )
    for _run in range(2):  # and a second pipeline in the same process starts afresh
        got = _pull_buffers(gst, description, ("left", "right"))
        for name in ("left", "right"):
            assert len(got[name]) == 3
            for buffer in got[name]:
                assert sorted(meta.read(buffer).track_id.tolist()) == [1, 2], name


def test_importing_the_elements_keeps_the_sys_path_list() -> None:
    # gst-python's plugin loader holds the sys.path list while it imports our elements;
    # OpenCV's loader swaps it for a copy, which freed the loader's list (a segfault in
    # gst-inspect-1.0 that came and went with the heap's layout).
    code = (
        "import sys; path = sys.path; import gstreamed.gst.elements; "
        "assert sys.path is path, 'sys.path replaced'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
