"""``gstreamed track`` and ``gstreamed eval`` as real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
from track_helpers import camera_jump

import gstreamed
from gstreamed.track.mot import read_mot, write_results
from gstreamed.track.synthetic import SceneConfig, make_scene

SRC = str(Path(gstreamed.__file__).resolve().parents[1])


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)
    )
    return subprocess.run(
        [sys.executable, "-m", "gstreamed", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _write_det(path: Path, seed: int = 0, frames: int = 40) -> None:
    """A synthetic det.txt (ids -1) and its gt.txt in MOT layout next to it."""
    scene = make_scene(SceneConfig(frames=frames, objects=6, seed=seed))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for t, det in enumerate(scene.detections, start=1):
            for (x1, y1, x2, y2), c in zip(det.xyxy, det.confidence, strict=True):
                f.write(f"{t},-1,{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},{c:.3f},-1,-1,-1\n")
    gt = path.parent.parent / "gt" / "gt.txt"
    gt.parent.mkdir(parents=True, exist_ok=True)
    with gt.open("w") as f:
        for t, (ids, boxes) in enumerate(zip(scene.gt_ids, scene.gt_boxes, strict=True), start=1):
            for i, (x1, y1, x2, y2) in zip(ids, boxes, strict=True):
                f.write(f"{t},{i},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},1,1,1\n")


def _one_line_error(proc: subprocess.CompletedProcess[str], text: str) -> None:
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gstreamed: error:") and text in lines[0]


def test_track_file_and_no_overwrite(tmp_path: Path) -> None:
    det = tmp_path / "SEQ" / "det" / "det.txt"
    _write_det(det)
    out = tmp_path / "res.txt"
    proc = cli("track", det, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "det" in proc.stdout
    results = read_mot(out)
    assert len(results) > 50 and results.id.min() >= 1
    _one_line_error(cli("track", det, "-o", out), "already exists")
    assert cli("track", det, "-o", out, "--force", "--tracker", "bytetrack").returncode == 0


def test_track_directory_then_eval(tmp_path: Path) -> None:
    for seed, name in enumerate(("S1", "S2")):
        _write_det(tmp_path / "mot" / name / "det" / "det.txt", seed)
    (tmp_path / "mot" / "S1" / "seqinfo.ini").write_text(
        "[Sequence]\nname=S1\nframeRate=15\nseqLength=45\n"
    )
    out = tmp_path / "results"
    proc = cli(
        "track",
        tmp_path / "mot",
        "-o",
        out,
        "--tracker",
        "bytetrack",
        "--bytetrack-track-buffer",
        "10",
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["S1.txt", "S2.txt"]

    report = tmp_path / "metrics.json"
    proc = cli("eval", "--gt", tmp_path / "mot", "--results", out, "--json", report)
    assert proc.returncode == 0, proc.stderr
    for word in ("S1", "S2", "COMBINED", "HOTA", "MOTA", "IDF1"):
        assert word in proc.stdout
    data = json.loads(report.read_text())
    assert set(data["sequences"]) == {"S1", "S2"}
    assert 0.5 < data["combined"]["MOTA"] <= 1.0 and 0.5 < data["combined"]["IDF1"] <= 1.0
    _one_line_error(
        cli("eval", "--gt", tmp_path / "mot", "--results", out, "--json", report), "already exists"
    )


def test_eval_single_files_exact(tmp_path: Path) -> None:
    gt = tmp_path / "gt.txt"
    gt.write_text("".join(f"{f},1,10,10,20,40,1,1,1\n" for f in range(1, 5)))
    res = tmp_path / "res.txt"
    res.write_text("".join(f"{f},5,10,10,20,40,1\n" for f in range(1, 4)) + "4,6,10,10,20,40,1\n")
    report = tmp_path / "m.json"
    assert cli("eval", "--gt", gt, "--results", res, "--json", report).returncode == 0
    combined = json.loads(report.read_text())["combined"]
    assert combined["MOTA"] == 0.75 and combined["IDSW"] == 1 and combined["IDF1"] == 0.75


def test_missing_and_malformed_inputs(tmp_path: Path) -> None:
    _one_line_error(cli("track", tmp_path / "nope.txt", "-o", tmp_path / "r.txt"), "no such file")
    bad = tmp_path / "det.txt"
    bad.write_text("1,-1,10,10,5,5,0.9\n2,-1,10,x,5,5,0.9\n")
    _one_line_error(cli("track", bad, "-o", tmp_path / "r.txt"), f"{bad}:2")
    _one_line_error(cli("track", tmp_path, "-o", tmp_path / "out"), "no sequences found")
    far = tmp_path / "far.txt"
    far.write_text("1,-1,10,10,5,5,0.9\n1000000000,-1,10,10,5,5,0.9\n")
    _one_line_error(cli("track", far, "-o", tmp_path / "r.txt"), f"{far}:2: frame 1000000000")
    good = tmp_path / "good.txt"
    write_results(good, [])
    _one_line_error(
        cli("track", good, "-o", tmp_path / "r.txt", "--tracker", "sort", "--sort-max-age", "-1"),
        "max_age",
    )
    _one_line_error(cli("eval", "--gt", tmp_path / "nope", "--results", good), "no such file")


def test_botsort_reads_frames_from_img1(tmp_path: Path) -> None:
    dets, images = camera_jump()
    for name in ("with-frames", "without"):
        det = tmp_path / "seqs" / name / "det" / "det.txt"
        det.parent.mkdir(parents=True)
        with det.open("w") as f:
            for t, d in enumerate(dets, start=1):
                for x1, y1, x2, y2 in d.xyxy:
                    f.write(f"{t},-1,{x1},{y1},{x2 - x1},{y2 - y1},0.9,-1,-1,-1\n")
    img1 = tmp_path / "seqs" / "with-frames" / "img1"
    img1.mkdir()
    for t, image in enumerate(images, start=1):
        cv2.imwrite(str(img1 / f"{t:06d}.jpg"), image)
    proc = cli("track", tmp_path / "seqs", "-o", tmp_path / "out", "--tracker", "botsort")
    assert proc.returncode == 0, proc.stderr
    assert set(read_mot(tmp_path / "out" / "with-frames.txt").id.tolist()) == {1, 2}
    assert len(set(read_mot(tmp_path / "out" / "without.txt").id.tolist())) == 4
    (img1 / "000007.jpg").unlink()
    _one_line_error(
        cli("track", tmp_path / "seqs", "-o", tmp_path / "again"), "000007.jpg: missing"
    )
