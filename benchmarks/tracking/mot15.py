"""Our trackers vs reference trackers on MOT15 sequences with the SORT paper's detections,
and on a generated crowd with long occlusions and low-score detections.

Same detections (det.txt), same evaluation (gstreamed's, TrackEval HOTA/CLEAR/Identity at
IoU 0.5) for every tracker; ours at their defaults with the sequence's frame rate (as
``gstreamed track``), references at their defaults. frames/s: the update loop over all
sequences, inputs converted beforehand. Run in a scratch venv
holding the references (never project dependencies)::

    python -m venv /tmp/trkref
    /tmp/trkref/bin/pip install numpy scipy filterpy==1.4.5 sort-tracker-py==1.0.2 \\
        trackers==2.6.1 lap trackeval==1.3.0
    PYTHONPATH=src /tmp/trkref/bin/python benchmarks/tracking/mot15.py \\
        /work/shared/data/mot15 [--markdown table.md]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from compare import Runner, _table, abewley_sort, gt_table, ours, roboflow

from gstreamed.track import TRACKERS, create_tracker
from gstreamed.track.evaluate import evaluate, prepare
from gstreamed.track.mot import MotTable, read_mot, read_seqinfo
from gstreamed.track.synthetic import SceneConfig, make_scene

CROWD = SceneConfig(
    frames=600,
    objects=60,
    size=(60, 200),
    speed=3.0,
    occluded_low_score=0.9,
    occlusion=0.4,
    miss_rate=0.1,
    fp_rate=2.0,
    seed=21,
)


def runners(rate: float | None) -> dict[str, Runner]:
    """Every tracker compared: ours (defaults, frame ``rate``), then the references."""
    out: dict[str, Runner] = {
        f"gstreamed {name}": ours(lambda name=name: create_tracker(name, rate)) for name in TRACKERS
    }
    out["abewley/sort (sort-tracker-py 1.0.2)"] = abewley_sort
    for name in ("SORTTracker", "ByteTrackTracker", "OCSORTTracker", "BoTSORTTracker"):
        out[f"roboflow trackers 2.6.1 {name}"] = roboflow(name)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="directory of MOT sequences (SEQ/det, SEQ/gt)")
    parser.add_argument("--only", nargs="*", help="tracker names containing one of these")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown")
    args = parser.parse_args()
    seqs = sorted(d for d in args.root.iterdir() if (d / "gt" / "gt.txt").is_file())
    data: dict[str, tuple[list, MotTable, float | None]] = {}
    for seq in seqs:
        info = read_seqinfo(seq / "seqinfo.ini", seq.name)
        frames = read_mot(seq / "det" / "det.txt").per_frame(info.length)
        data[seq.name] = (frames, read_mot(seq / "gt" / "gt.txt"), info.frame_rate)
    crowd = make_scene(CROWD)
    lines = [
        "| tracker | sequence | HOTA | MOTA | IDF1 | IDSW | frames/s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for tracker in runners(None):
        if args.only and not any(o in tracker for o in args.only):
            continue
        prepared, total_frames, seconds = {}, 0, 0.0
        for name, (frames, gt, rate) in data.items():
            run = runners(rate)[tracker]
            start = time.perf_counter()
            out = run(frames)
            seconds += time.perf_counter() - start
            total_frames += len(frames)
            results = _table([(f + 1, *o) for f, o in enumerate(out)])
            prepared[name] = prepare(gt, results, len(frames))
        report = evaluate(prepared)
        out = runners(30.0)[tracker](crowd.detections)
        results = _table([(f + 1, *o) for f, o in enumerate(out)])
        report["synthetic crowd"] = evaluate(
            {"crowd": prepare(gt_table(crowd), results, len(crowd))}
        )["crowd"]
        for name, m in report.items():
            fps = f"{total_frames / seconds:,.0f}" if name == "COMBINED" else ""
            lines.append(
                f"| {tracker} | {name} | {100 * m['HOTA']:.1f} | {100 * m['MOTA']:.1f} "
                f"| {100 * m['IDF1']:.1f} | {m['IDSW']} | {fps} |"
            )
        print("\n".join(lines[-len(report) :]), flush=True)
    if args.markdown:
        args.markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
