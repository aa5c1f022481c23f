"""Which Ray cluster a run uses and how much of it: `ClusterParams`, `connect`.

Ray is an optional extra (``pip install 'gstreamed[ray]'``), imported only when a run asks
for a cluster, with its usage statistics off and without its dashboard. Running inputs on the
cluster is `gstreamed.gst.cluster`.
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

from gstreamed.errors import GstreamedError
from gstreamed.params import ParamSet, param

INSTALL_HINT = "Ray is not installed; install it with: pip install 'gstreamed[ray]'"
ADDRESS = re.compile(r"(ray://)?[\w.\-\[\]:]+:\d+")  # HOST:PORT, ray://HOST:PORT
CONNECT_TIMEOUT_S = 10.0  # to reach a cluster's address before handing it to Ray
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2  # results are small; the store needs little room


@dataclass(frozen=True, eq=False)
class ClusterParams(ParamSet):
    """How a run uses a Ray cluster: how many workers and what each holds."""

    OWNER: ClassVar[str] = "ray"

    workers: int = param(2, "worker processes", minimum=1)
    streams_per_worker: int = param(
        1,
        "inputs a worker plays at once, as one task, sharing its model in batches (a task "
        "whose worker dies is retried whole)",
        minimum=1,
    )
    worker_cpus: float = param(1.0, "CPUs each worker holds", minimum=0.0)
    worker_gpus: float = param(0.0, "GPUs each worker holds (fractions share one)", minimum=0.0)
    worker_retries: int = param(
        3, "times an input is retried when its worker process dies", minimum=0
    )


def import_ray() -> ModuleType:
    """The ``ray`` module, with usage statistics off; one clear error when it is missing."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise GstreamedError(INSTALL_HINT) from None
    return ray


@contextmanager
def connect(address: str, params: ClusterParams) -> Iterator[ModuleType]:
    """Start a local cluster sized for ``params`` (``"local"``) or join ``address``; a local
    cluster is shut down (and a joined one left) at the end."""
    if address not in ("local", "auto") and not ADDRESS.fullmatch(address):
        raise GstreamedError(
            f"{address!r} is not a Ray cluster address: give local, auto, HOST:PORT or "
            "ray://HOST:PORT (inputs go before a bare --ray)"
        )
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.ERROR,
    }
    if address == "local":  # always a new cluster, never one found on this machine
        options["address"] = "local"
        options["num_cpus"] = max(1, math.ceil(params.workers * params.worker_cpus))
        options["num_gpus"] = math.ceil(params.workers * params.worker_gpus)
        options["object_store_memory"] = LOCAL_OBJECT_STORE_BYTES
    else:
        _check_reachable(address)
        options["address"] = address
    try:
        ray.init(**options)
    except KeyboardInterrupt:  # Ctrl-C while it starts: leave no cluster behind
        ray.shutdown()
        raise
    except (ConnectionError, ValueError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        message = f"cannot start or reach the Ray cluster {address!r}: {first}"
        raise GstreamedError(message) from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _check_reachable(address: str) -> None:
    """Fail at once on a ``HOST:PORT`` (or ``ray://HOST:PORT``) nobody listens on; Ray itself
    would retry for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise GstreamedError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}"
        ) from None
