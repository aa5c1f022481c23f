"""Metrics on small hand-computed cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from gstreamed.errors import GstreamedError
from gstreamed.track.evaluate import evaluate, prepare
from gstreamed.track.mot import read_mot

A, B, FAR = "10,10,20,40", "200,10,20,40", "500,500,20,40"


def _table(tmp_path: Path, name: str, rows: list[str]):
    path = tmp_path / name
    path.write_text("".join(r + "\n" for r in rows))
    return read_mot(path)


def _gt(tmp_path: Path):
    return _table(
        tmp_path,
        "gt.txt",
        [f"{f},1,{A},1,1,1" for f in range(1, 5)] + [f"{f},2,{B},1,1,1" for f in range(1, 5)],
    )


def test_perfect_tracking(tmp_path: Path) -> None:
    gt = _gt(tmp_path)
    res = _table(
        tmp_path,
        "res.txt",
        [f"{f},7,{A},1" for f in range(1, 5)] + [f"{f},9,{B},1" for f in range(1, 5)],
    )
    m = evaluate({"s": prepare(gt, res)})["s"]
    assert m["MOTA"] == 1.0 and m["IDF1"] == 1.0 and m["HOTA"] == pytest.approx(1.0)
    assert m["IDSW"] == 0 and m["FP"] == 0 and m["FN"] == 0


def test_switch_false_positive_and_miss(tmp_path: Path) -> None:
    """Track 1 follows A; B is track 2 then track 3 (a switch) and is missed in frame 4;
    one false positive. GT boxes: 8. TP 7, FN 1, FP 1, IDSW 1 -> MOTA = 1 - 3/8.
    IDF1: A<->1 (4 frames), B<->2 (2 frames): IDTP 6, IDFN 8-6, IDFP 8-6 -> 12/16."""
    gt = _gt(tmp_path)
    res = _table(
        tmp_path,
        "res.txt",
        [f"{f},1,{A},1" for f in range(1, 5)]
        + ["1,2," + B + ",1", "2,2," + B + ",1", "3,3," + B + ",1", "1,4," + FAR + ",1"],
    )
    m = evaluate({"s": prepare(gt, res)})["s"]
    assert (m["TP"], m["FP"], m["FN"], m["IDSW"]) == (7, 1, 1, 1)
    assert m["MOTA"] == pytest.approx(5 / 8)
    assert m["IDF1"] == pytest.approx(0.75)
    assert m["precision"] == pytest.approx(7 / 8) and m["recall"] == pytest.approx(7 / 8)


def test_combined_sums_counts(tmp_path: Path) -> None:
    gt = _gt(tmp_path)
    perfect = _table(
        tmp_path,
        "p.txt",
        [f"{f},1,{A},1" for f in range(1, 5)] + [f"{f},2,{B},1" for f in range(1, 5)],
    )
    half = _table(tmp_path, "h.txt", [f"{f},1,{A},1" for f in range(1, 5)])
    report = evaluate({"p": prepare(gt, perfect), "h": prepare(gt, half)})
    assert report["h"]["MOTA"] == pytest.approx(0.5)
    assert report["COMBINED"]["FN"] == 4
    assert report["COMBINED"]["MOTA"] == pytest.approx(1 - 4 / 16)


def test_ignored_ground_truth_is_dont_care(tmp_path: Path) -> None:
    gt = _table(
        tmp_path,
        "gt.txt",
        [f"{f},1,{A},1,1,1" for f in range(1, 3)] + [f"{f},2,{B},0,1,1" for f in range(1, 3)],
    )
    res = _table(
        tmp_path,
        "res.txt",
        [f"{f},1,{A},1" for f in range(1, 3)] + [f"{f},2,{B},1" for f in range(1, 3)],
    )
    m = evaluate({"s": prepare(gt, res)})["s"]
    assert (m["TP"], m["FP"], m["FN"]) == (2, 0, 0) and m["MOTA"] == 1.0


def test_results_outside_ground_truth_frames_are_false_positives(tmp_path: Path) -> None:
    gt = _table(tmp_path, "gt.txt", [f"1,1,{A},1,1,1"])
    res = _table(tmp_path, "res.txt", [f"1,1,{A},1", f"3,1,{A},1"])
    m = evaluate({"s": prepare(gt, res)})["s"]
    assert (m["TP"], m["FP"]) == (1, 1)


def test_nothing_to_evaluate() -> None:
    with pytest.raises(GstreamedError):
        evaluate({})
