"""PendingFile: exclusive temporary names, no-clobber commits, nothing left on failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gstreamed.errors import GstreamedError
from gstreamed.outfile import PendingFile


def test_commit_moves_the_complete_file_into_place(tmp_path: Path) -> None:
    final = tmp_path / "out.txt"
    with PendingFile(final) as pending:
        assert pending.path.parent == tmp_path and pending.path.name.startswith(".out.txt.")
        assert not final.exists()
        pending.path.write_bytes(b"done")
    assert final.read_bytes() == b"done"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_failure_leaves_nothing_under_the_final_name(tmp_path: Path) -> None:
    final = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), PendingFile(final) as pending:
        pending.path.write_bytes(b"half")
        raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_an_existing_file_is_not_clobbered_without_overwrite(tmp_path: Path) -> None:
    final = tmp_path / "out.txt"
    pending = PendingFile(final)
    final.write_bytes(b"other run")  # appeared while we were writing
    pending.path.write_bytes(b"ours")
    with pytest.raises(GstreamedError, match="exists already"):
        pending.commit()
    assert final.read_bytes() == b"other run"
    assert os.listdir(tmp_path) == ["out.txt"]
    replacing = PendingFile(final, overwrite=True)
    replacing.path.write_bytes(b"new")
    replacing.commit()
    assert final.read_bytes() == b"new"


def test_a_planted_symlink_is_never_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    final = tmp_path / "out.txt"
    names = iter([tmp_path / ".planted", tmp_path / ".fresh"])
    (tmp_path / ".planted").symlink_to(victim)
    monkeypatch.setattr("gstreamed.outfile.temporary_name", lambda _final: next(names))
    pending = PendingFile(final)
    assert pending.path == tmp_path / ".fresh"
    pending.path.write_bytes(b"ours")
    pending.commit()
    assert victim.read_bytes() == b"precious" and final.read_bytes() == b"ours"
