"""Our trackers vs reference trackers on MOT15 sequences with the SORT paper's detections.

Same detections (det.txt), same evaluation (gstreamed's, TrackEval HOTA/CLEAR/Identity at
IoU 0.5) for every tracker; references at their published defaults. Run in a scratch venv
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

import numpy as np
from compare import Runner, _table, abewley_sort, ours, roboflow

from gstreamed.track import TRACKERS
from gstreamed.track.evaluate import evaluate, prepare
from gstreamed.track.mot import MotTable, read_mot, read_seqinfo


def runners() -> dict[str, Runner]:
    """Every tracker compared: ours (defaults, stream frame rate), then the references."""
    out: dict[str, Runner] = {f"gstreamed {name}": ours(cls) for name, cls in TRACKERS.items()}
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
    data: dict[str, tuple[list, MotTable, int]] = {}
    for seq in seqs:
        info = read_seqinfo(seq / "seqinfo.ini", seq.name)
        frames = read_mot(seq / "det" / "det.txt").per_frame(info.length)
        data[seq.name] = (frames, read_mot(seq / "gt" / "gt.txt"), len(frames))
    lines = [
        "| tracker | sequence | HOTA | MOTA | IDF1 | IDSW | frames/s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for tracker, run in runners().items():
        if args.only and not any(o in tracker for o in args.only):
            continue
        prepared, total_frames, seconds = {}, 0, 0.0
        for name, (frames, gt, count) in data.items():
            start = time.perf_counter()
            out = run(frames)
            seconds += time.perf_counter() - start
            total_frames += count
            prepared[name] = prepare(gt, _table([(f + 1, *o) for f, o in enumerate(out)]), count)
        report = evaluate(prepared)
        fps = total_frames / seconds
        for name, m in report.items():
            lines.append(
                f"| {tracker} | {name} | {100 * m['HOTA']:.1f} | {100 * m['MOTA']:.1f} "
                f"| {100 * m['IDF1']:.1f} | {m['IDSW']} | {fps if name == 'COMBINED' else '':,.0f} |"
                if name == "COMBINED"
                else f"| {tracker} | {name} | {100 * m['HOTA']:.1f} | {100 * m['MOTA']:.1f} "
                f"| {100 * m['IDF1']:.1f} | {m['IDSW']} | |"
            )
        print("\n".join(lines[-len(report) :]), flush=True)
    if args.markdown:
        args.markdown.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
