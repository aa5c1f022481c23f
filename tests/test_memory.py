"""The malloc arena cap the CLI sets for long runs."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

GLIBC = platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not GLIBC, reason="mallopt(M_ARENA_MAX) is glibc's")
def test_caps_the_arenas_unless_the_environment_decides() -> None:
    code = "from gstreamed.memory import limit_malloc_arenas as cap; print(cap(), cap(3))"
    run = [sys.executable, "-c", code]
    assert subprocess.run(run, capture_output=True, text=True).stdout.split() == ["True", "True"]
    env = {"MALLOC_ARENA_MAX": "4", "PATH": ""}
    out = subprocess.run(run, capture_output=True, text=True, env=env).stdout.split()
    assert out == ["False", "False"]  # the user's MALLOC_ARENA_MAX stands
