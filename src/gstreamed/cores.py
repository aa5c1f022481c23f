"""CPU cores and how work running at once shares them."""

from __future__ import annotations

import os


def cpu_cores() -> int:
    """CPU cores this process may run on (its affinity mask, as a container sets it)."""
    return len(os.sched_getaffinity(0))


def share_of_cores(parts: int) -> int | None:
    """Threads for each of ``parts`` jobs running at once: an equal share of the cores, at
    least one (None for a single job: its library's own choice)."""
    return max(1, cpu_cores() // parts) if parts > 1 else None
