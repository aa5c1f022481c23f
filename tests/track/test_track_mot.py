"""MOTChallenge file reading and writing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gstreamed.detect.detections import Detections
from gstreamed.errors import GstreamedError
from gstreamed.track.mot import MotWriter, find_sequences, read_mot, read_seqinfo, write_results


def test_read_det_file_with_extra_columns_and_whitespace(tmp_path: Path) -> None:
    path = tmp_path / "det.txt"
    path.write_text(
        "1, -1, 10.5, 20, 30, 40, 0.9, -1, -1, -1\n"
        "\n"
        "3,-1,0,0,5,5,0.25\n"
        "  3 , -1 , 1 , 1 , 2 , 2 , 0.5 , 7 , 0.3 , 9 , 10 \n"
    )
    table = read_mot(path)
    assert table.frame.tolist() == [1, 3, 3]
    np.testing.assert_allclose(table.xyxy[0], [10.5, 20, 40.5, 60])
    np.testing.assert_allclose(table.conf, [0.9, 0.25, 0.5])
    assert table.class_id.tolist() == [-1, -1, 7]
    frames = table.per_frame()
    assert [len(f) for f in frames] == [1, 0, 2]
    assert isinstance(frames[0], Detections)
    assert [len(f) for f in table.per_frame(5)] == [1, 0, 2, 0, 0]


def test_whitespace_separated_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "gt.txt"
    path.write_text("2 5 1 2 3 4\n")
    table = read_mot(path)
    assert table.id.tolist() == [5] and table.conf.tolist() == [1.0]


@pytest.mark.parametrize(
    "content, message",
    [
        ("1,2,3\n", "gt.txt:1: expected at least 6"),
        ("1,1,1,1,1,1,1\n1,1,a,1,1,1,1\n", "gt.txt:2: not a number"),
        ("0,1,1,1,1,1,1\n", "gt.txt:1: frame must be an integer >= 1"),
        ("1.5,1,1,1,1,1,1\n", "frame must be an integer"),
        ("1,1,1,1,-4,1,1\n", "negative box"),
        ("1,1,nan,1,1,1,1\n", "non-finite"),
        ("1,1,1,1,1,1,1\n1000000000,1,1,1,1,1,1\n", "gt.txt:2: frame 1000000000 is beyond"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "gt.txt"
    path.write_text(content)
    with pytest.raises(GstreamedError, match=message):
        read_mot(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GstreamedError, match="no such file"):
        read_mot(tmp_path / "nope.txt")


def test_writer_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "out" / "res.txt"
    first = Detections([[10, 20, 40, 60], [1, 2, 3, 4]], [0.91, 0.5], [0, 2], [3, -1])
    second = Detections([[11.25, 21, 41, 61]], [0.33], [0], [3])
    with MotWriter(path) as writer:
        writer.write(0, None, first)
        writer.write(4, None, second)
    lines = path.read_text().splitlines()
    assert lines == [
        "1,3,10.00,20.00,30.00,40.00,0.9100,-1,-1,-1",
        "5,3,11.25,21.00,29.75,40.00,0.3300,-1,-1,-1",
    ]
    table = read_mot(path)
    assert table.frame.tolist() == [1, 5] and table.id.tolist() == [3, 3]
    np.testing.assert_allclose(table.xyxy, [[10, 20, 40, 60], [11.25, 21, 41, 61]])
    np.testing.assert_allclose(table.conf, [0.91, 0.33])


def test_writer_close_is_idempotent_and_final(tmp_path: Path) -> None:
    writer = MotWriter(tmp_path / "r.txt")
    writer.close()
    writer.close()
    with pytest.raises(ValueError):
        writer.write(0, None, Detections.empty())


def test_writer_unwritable_path(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(GstreamedError, match="cannot write"):
        MotWriter(tmp_path / "file" / "r.txt")


def test_write_results_counts_rows(tmp_path: Path) -> None:
    frames = [Detections([[0, 0, 1, 1]], [1.0], [0], [1]), Detections.empty()]
    assert write_results(tmp_path / "r.txt", frames) == 1


def test_seqinfo_and_sequences(tmp_path: Path) -> None:
    for name in ("B", "A"):
        (tmp_path / name / "det").mkdir(parents=True)
        (tmp_path / name / "det" / "det.txt").write_text("")
    (tmp_path / "A" / "seqinfo.ini").write_text(
        "[Sequence]\nname=A\nframeRate=25\nseqLength=100\nimWidth=640\n"
    )
    (tmp_path / "notes").mkdir()
    assert [n for n, _ in find_sequences(tmp_path, "det/det.txt")] == ["A", "B"]
    assert find_sequences(tmp_path / "A", "det/det.txt") == [("A", tmp_path / "A")]
    info = read_seqinfo(tmp_path / "A" / "seqinfo.ini", "A")
    assert info.frame_rate == 25.0 and info.length == 100
    assert read_seqinfo(tmp_path / "B" / "seqinfo.ini", "B").frame_rate is None
    (tmp_path / "B" / "seqinfo.ini").write_text("[Other]\n")
    with pytest.raises(GstreamedError, match="seqinfo"):
        read_seqinfo(tmp_path / "B" / "seqinfo.ini", "B")
    with pytest.raises(GstreamedError, match="no sequences"):
        find_sequences(tmp_path / "notes", "det/det.txt")


def test_rows_of_different_lengths_and_comments(tmp_path: Path) -> None:
    path = tmp_path / "det.txt"
    path.write_text("# a comment\n1,1,1,2,3,4\n\n2,2,1,2,3,4,0.5,3\n")
    table = read_mot(path)
    assert table.frame.tolist() == [1, 2] and table.id.tolist() == [1, 2]
    assert table.conf.tolist() == [1.0, 0.5] and table.class_id.tolist() == [-1, 3]
    np.testing.assert_allclose(table.xyxy, [[1, 2, 4, 6]] * 2)
