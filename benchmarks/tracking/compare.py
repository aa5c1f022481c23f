"""Our SORT/ByteTrack vs reference implementations: same detections, same evaluation.

References (bench only, never project dependencies; install into a separate venv):

    pip install numpy scipy trackers==2.6.1 sort-tracker-py==1.0.2 filterpy==2.0.0
    pip install trackeval==1.3.0 lap==0.5.13

* ``sort_tracker`` (sort-tracker-py on PyPI) is abewley/sort's ``sort.py`` packaged
  (filterpy Kalman filter per track, lap/scipy assignment), with the score carried along.
* ``bytetracker`` 0.3.2 (PyPI sdist, fetched with ``pip download`` into the cache) is the
  original ByteTrack ``BYTETracker``/``STrack``/``KalmanFilter``/matching code; it is
  patched at run time for its packaging bugs only (torch removed; boxes given as tlwh and
  returned as xyxy instead of centre-xywh; second-stage classes indexed correctly).
* ``trackers`` is Roboflow's clean-room ByteTrack variant (``ByteTrackTracker``).

Data: TUD-Campus and TUD-Stadtmitte ground truth shipped in the py-motmetrics 1.4.0 wheel
(fetched with ``pip download``; nothing is committed), plus synthetic scenes. Detections
are simulated from the ground truth with a seeded detector model (noise, misses, false
positives, occluded objects missed or seen with a low score). Metrics: gstreamed's
evaluation (TrackEval HOTA/CLEAR/Identity).

    PYTHONPATH=src python bench/tracking/compare.py [--markdown docs-table.md]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gstreamed.detect.detections import Detections
from gstreamed.track import ByteTracker, SortTracker
from gstreamed.track.evaluate import evaluate, prepare
from gstreamed.track.matching import iou_matrix
from gstreamed.track.mot import MotTable, read_mot
from gstreamed.track.synthetic import Scene, SceneConfig, make_scene, simulate_detector

Runner = Callable[[list[Detections]], list[tuple[np.ndarray, np.ndarray, np.ndarray]]]


# --- trackers under test: each maps frames -> per frame (ids, xyxy, conf) ------------------


def ours(factory: Callable[[], object]) -> Runner:
    def run(frames: list[Detections]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        tracker = factory()
        outs = [tracker.update(f) for f in frames]  # type: ignore[attr-defined]
        outs = [o[o.track_id >= 0] for o in outs]  # every row comes back; keep the tracked
        return [(o.track_id, o.xyxy.astype(np.float64), o.confidence) for o in outs]

    return run


def abewley_sort(frames: list[Detections]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    from sort_tracker.sort import KalmanBoxTracker, Sort

    KalmanBoxTracker.count = 0
    tracker = Sort(max_age=1, min_hits=3, iou_threshold=0.3)
    out = []
    for arr in _sort_inputs(frames):
        r = tracker.update(arr)
        out.append((r[:, -1].astype(np.int64), r[:, :4], r[:, 4]))
    return out


def _sort_inputs(frames: list[Detections]) -> list[np.ndarray]:
    return [
        np.concatenate([f.xyxy, f.confidence[:, None]], axis=1).astype(np.float64) for f in frames
    ]


def original_bytetrack(cache: Path) -> Runner:
    """The original BYTETracker from the bytetracker 0.3.2 sdist, with its packaging bugs fixed."""
    root = cache / "bytetracker-0.3.2-patched"
    if not (root / "bytetracker" / "byte_tracker.py").exists():
        sdist = _pip_download(cache, "bytetracker==0.3.2", "bytetracker-0.3.2.tar.gz")
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                path = Path(member.name)
                if member.isfile() and path.parent.name == "bytetracker" and path.suffix == ".py":
                    target = root / "bytetracker" / path.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(tar.extractfile(member).read())  # type: ignore[union-attr]
        code = root / "bytetracker" / "byte_tracker.py"
        text = code.read_text()
        for old, new in PATCHES:
            if old not in text:
                raise SystemExit(f"bytetracker source changed, cannot patch: {old!r}")
            text = text.replace(old, new)
        code.write_text(text)
    sys.path.insert(0, str(root))

    def run(frames: list[Detections]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        from bytetracker import BYTETracker
        from bytetracker.basetrack import BaseTrack

        BaseTrack._count = 0
        tracker = BYTETracker(track_thresh=0.5, track_buffer=30, match_thresh=0.8, frame_rate=30)
        out = []
        for f in frames:
            arr = np.concatenate([f.xyxy, f.confidence[:, None], f.class_id[:, None]], axis=1)
            r = np.asarray(tracker.update(arr.astype(np.float64), None)).reshape(-1, 7)
            out.append((r[:, 4].astype(np.int64), r[:, :4], r[:, 6]))
        return out

    return run


PATCHES = (
    ("import torch\n", ""),
    ("x.clone() if isinstance(x, torch.Tensor) else np.copy(x)", "np.copy(x)"),
    (
        "xywh = xyxy2xywh(xyxys)",
        "xywh = np.asarray(xyxys, float).copy(); xywh[:, 2:] -= xywh[:, :2]",
    ),
    ("classes = clss.numpy()", "classes = np.asarray(clss)"),
    ("xyxys = xyxys.numpy()", "xyxys = np.asarray(xyxys)"),
    ("confs = confs.numpy()", "confs = np.asarray(confs)"),
    ("clss_second = classes[remain_inds]", "clss_second = classes[inds_second]"),
    ("xyxy = xywh2xyxy(tlwh)", "xyxy = tlwh.copy(); xyxy[:, 2:] += xyxy[:, :2]"),
)


def _pip_download(cache: Path, requirement: str, filename_glob: str) -> Path:
    found = next(cache.glob(filename_glob), None)
    if found is None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "-d",
                str(cache),
                requirement,
            ],
            check=True,
        )
        found = next(cache.glob(filename_glob))
    return found


def roboflow_bytetrack(**params: float) -> Runner:
    return roboflow("ByteTrackTracker", **params)


def roboflow(name: str, **params: float) -> Runner:
    """A tracker class of Roboflow ``trackers`` by name, with ``params``."""

    def run(frames: list[Detections]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        import trackers as roboflow_trackers

        tracker = getattr(roboflow_trackers, name)(**params)
        out = []
        for det in _sv_inputs(frames):
            r = tracker.update(det)
            keep = r.tracker_id >= 0
            out.append((r.tracker_id[keep].astype(np.int64), r.xyxy[keep], r.confidence[keep]))
        return out

    return run


def _sv_inputs(frames: list[Detections]) -> list[object]:
    import supervision as sv

    return [
        sv.Detections(xyxy=f.xyxy.astype(np.float32), confidence=f.confidence, class_id=f.class_id)
        for f in frames
    ]


def trackers(cache: Path) -> dict[str, Runner]:
    """Every tracker compared, ours first."""
    return {
        "gstreamed SORT": ours(SortTracker),
        "abewley/sort (sort-tracker-py 1.0.2)": abewley_sort,
        "gstreamed ByteTrack": ours(ByteTracker),
        "original ByteTrack (bytetracker 0.3.2, patched)": original_bytetrack(cache),
        "Roboflow trackers 2.6.1 ByteTrack, defaults": roboflow_bytetrack(),
        "Roboflow trackers 2.6.1 ByteTrack, ByteTrack's thresholds": roboflow_bytetrack(
            lost_track_buffer=30,
            track_activation_threshold=0.6,
            minimum_consecutive_frames=2,
            minimum_iou_threshold=0.2,
            high_conf_det_threshold=0.5,
        ),
    }


# --- data ----------------------------------------------------------------------------------


def tud_sequences(cache: Path) -> dict[str, Scene]:
    """TUD ground truth from the motmetrics wheel, with simulated detections."""
    wheel = _pip_download(cache, "motmetrics==1.4.0", "motmetrics-1.4.0-*.whl")
    scenes = {}
    with zipfile.ZipFile(wheel) as z:
        for name, seed in (("TUD-Campus", 1), ("TUD-Stadtmitte", 2)):
            path = cache / f"{name}-gt.txt"
            path.write_bytes(z.read(f"motmetrics/data/{name}/gt.txt"))
            gt = read_mot(path).per_frame()
            boxes = [g.xyxy.astype(np.float64) for g in gt]
            depths = [-b[:, 3] for b in boxes]  # lower bottom edge = nearer the camera
            config = SceneConfig(
                width=640,
                height=480,
                size=(150, 300),
                noise=0.03,
                miss_rate=0.05,
                fp_rate=0.3,
                seed=seed,
            )
            dets = simulate_detector(boxes, depths, config, np.random.default_rng(seed))
            scenes[name] = Scene(dets, [g.track_id for g in gt], boxes)
    return scenes


SYNTHETIC = {
    "synthetic sparse": SceneConfig(frames=600, objects=15, fp_rate=0.5, seed=11),
    "synthetic crowd": SceneConfig(
        frames=600, objects=60, size=(60, 200), speed=5.0, fp_rate=2.0, seed=12
    ),
    "synthetic occlusion": SceneConfig(
        frames=600,
        objects=40,
        size=(100, 260),
        occluded_low_score=0.9,
        occlusion=0.4,
        miss_rate=0.1,
        fp_rate=1.0,
        seed=13,
    ),
}


def _table(rows: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]) -> MotTable:
    frame = np.concatenate([np.full(len(i), f, np.int64) for f, i, _, _ in rows] or [[]])
    ids = np.concatenate([i for _, i, _, _ in rows] or [[]]).astype(np.int64)
    boxes = np.concatenate([b.reshape(-1, 4) for _, _, b, _ in rows] or [np.zeros((0, 4))])
    conf = np.concatenate([c for _, _, _, c in rows] or [[]]).astype(np.float64)
    return MotTable(frame.astype(np.int64), ids, boxes, conf, np.full(len(ids), -1, np.int64))


def gt_table(scene: Scene) -> MotTable:
    return _table(
        [
            (f + 1, ids.astype(np.int64), boxes, np.ones(len(ids)))
            for f, (ids, boxes) in enumerate(zip(scene.gt_ids, scene.gt_boxes, strict=True))
        ]
    )


# --- measurements --------------------------------------------------------------------------


def accuracy(
    runners: dict[str, Runner], scenes: dict[str, Scene]
) -> dict[str, dict[str, dict[str, float | int]]]:
    """Metrics per tracker and sequence."""
    report = {}
    for tracker, run in runners.items():
        data = {}
        for name, scene in scenes.items():
            out = run(scene.detections)
            data[name] = prepare(
                gt_table(scene), _table([(f + 1, *o) for f, o in enumerate(out)]), len(scene)
            )
        report[tracker] = evaluate(data)
    return report


def sort_agreement(scenes: dict[str, Scene]) -> tuple[int, int, int]:
    """(frames, frames where the number of reported tracks differs, id-mapping conflicts)
    between our SORT and abewley/sort; boxes are paired by IoU."""
    frames = differ = conflicts = 0
    for scene in scenes.values():
        mapping: dict[int, int] = {}
        for (ref_ids, ref_boxes, _), (our_ids, our_boxes, _) in zip(
            abewley_sort(scene.detections), ours(SortTracker)(scene.detections), strict=True
        ):
            frames += 1
            if len(ref_ids) != len(our_ids):
                differ += 1
                continue
            if len(ref_ids):
                nearest = iou_matrix(ref_boxes, our_boxes).argmax(axis=1)
                for ref, our in zip(ref_ids.tolist(), our_ids[nearest].tolist(), strict=True):
                    conflicts += mapping.setdefault(ref, our) != our
    return frames, differ, conflicts


def throughput(cache: Path, repeats: int = 3) -> tuple[float, dict[str, float]]:
    """Frames/s of the update loop alone (inputs converted beforehand), best of ``repeats``."""
    scene = make_scene(SceneConfig(frames=2000, objects=38, seed=5, fp_rate=0.5, size=(40, 120)))
    scene_frames = [Detections(d.xyxy, d.confidence, d.class_id) for d in scene.detections]
    per_frame = float(np.mean([len(f) for f in scene_frames]))
    from sort_tracker.sort import Sort
    from trackers import ByteTrackTracker

    original_bytetrack(cache)
    from bytetracker import BYTETracker

    byte_in = [
        np.concatenate([f.xyxy, f.confidence[:, None], f.class_id[:, None]], axis=1).astype(
            np.float64
        )
        for f in scene_frames
    ]
    sort_in, sv_in = _sort_inputs(scene_frames), _sv_inputs(scene_frames)
    loops: dict[str, Callable[[], None]] = {
        "gstreamed SORT": lambda: _loop(SortTracker(), scene_frames),
        "abewley/sort (sort-tracker-py 1.0.2)": lambda: _loop(Sort(), sort_in),
        "gstreamed ByteTrack": lambda: _loop(ByteTracker(), scene_frames),
        "original ByteTrack (bytetracker 0.3.2, patched)": lambda: _loop(
            BYTETracker(0.5, 30, 0.8, 30), byte_in, None
        ),
        "Roboflow trackers 2.6.1 ByteTrack, defaults": lambda: _loop(ByteTrackTracker(), sv_in),
    }
    fps = {}
    for name, loop in loops.items():
        best = min(_timed(loop) for _ in range(repeats))
        fps[name] = len(scene_frames) / best
    return per_frame, fps


def _loop(tracker: object, frames: list, *extra: object) -> None:
    for f in frames:
        tracker.update(f, *extra)  # type: ignore[attr-defined]


def _timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def markdown(
    report: dict[str, dict[str, dict[str, float | int]]], per_frame: float, fps: dict[str, float]
) -> str:
    lines = [
        "| tracker | sequence | HOTA | MOTA | IDF1 | IDSW | FP | FN |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for tracker, seqs in report.items():
        for seq, m in seqs.items():
            lines.append(
                f"| {tracker} | {seq} | {100 * m['HOTA']:.1f} | {100 * m['MOTA']:.1f} "
                f"| {100 * m['IDF1']:.1f} | {m['IDSW']} | {m['FP']} | {m['FN']} |"
            )
    lines += [
        "",
        f"Update throughput, {per_frame:.1f} detections per frame on average:",
        "",
        "| tracker | frames/s |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {value:,.0f} |" for name, value in fps.items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", type=Path, help="also write the tables as Markdown")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "gst-bench",
        help="where the motmetrics wheel is downloaded and unpacked",
    )
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    scenes = tud_sequences(args.cache)
    scenes.update({name: make_scene(config) for name, config in SYNTHETIC.items()})
    for name, scene in scenes.items():
        print(
            f"{name}: {len(scene)} frames, "
            f"{np.mean([len(g) for g in scene.gt_ids]):.1f} objects/frame, "
            f"{np.mean([len(d) for d in scene.detections]):.1f} detections/frame"
        )
    frames, differ, conflicts = sort_agreement(scenes)
    print(
        f"SORT vs abewley/sort: {frames} frames, {differ} with a different number of "
        f"reported tracks, {conflicts} id conflicts"
    )
    report = accuracy(trackers(args.cache), scenes)
    per_frame, fps = throughput(args.cache)
    text = markdown(report, per_frame, fps)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
