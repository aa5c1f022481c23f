"""The built wheel installs into a fresh virtual environment beside supervision, offline,
from the wheelhouse `./setup.sh test` fills (.cache/wheelhouse), and works there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WHEELHOUSE = ROOT / ".cache" / "wheelhouse"

CHECK = """
import sys
import numpy as np
import supervision as sv
import gstreamed

assert gstreamed.__file__.startswith(sys.prefix), gstreamed.__file__
found = gstreamed.load_detector(sys.argv[1]).detect(np.zeros((120, 160, 3), np.uint8))
theirs = found.to_supervision()
assert isinstance(theirs, sv.Detections) and len(theirs) == 2, theirs
back = gstreamed.Detections.from_supervision(theirs)
assert back.class_names == found.class_names and (back.xyxy == found.xyxy).all()
print("ok", gstreamed.__version__, sv.__version__)
"""


def _run(*args: str | Path, cwd: Path) -> str:
    """Run a command offline (no pip configuration, index or find-links but the wheelhouse)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=500
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.timeout(600)
def test_wheel_installs_offline_beside_supervision(tmp_path: Path, model: Path) -> None:
    if not (WHEELHOUSE / "requirements.txt").is_file():
        pytest.skip("no wheelhouse: run ./setup.sh test")
    dist = tmp_path / "dist"
    _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "-w", dist, ROOT, cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = dist.glob("gstreamed-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(
        python, "-m", "pip", "install", "-q", "--find-links", WHEELHOUSE,
        "-c", ROOT / "constraints.txt", wheel, "supervision", cwd=tmp_path,
    )  # fmt: skip
    _run(python, "-m", "pip", "check", cwd=tmp_path)
    assert _run(python, "-c", CHECK, model, cwd=tmp_path).startswith("ok 0.1.0 0.31")
