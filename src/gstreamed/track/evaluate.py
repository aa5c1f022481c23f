"""Tracking metrics (HOTA, CLEAR MOT, identity) of MOTChallenge results, via TrackEval.

The metric code is TrackEval's (``pip install trackeval``: the maintained fork of the
MOTChallenge/HOTA reference implementation); loading and matching of the files is ours:

* ground-truth rows with ``conf`` 0 are "don't care": removed, and result boxes that
  match one of them (IoU >= 0.5, optimal assignment) are dropped before scoring, as the
  MOTChallenge devkit does with its ignored regions;
* boxes are compared by IoU; a result frame outside the ground truth's frames is scored
  as false positives.
"""

from __future__ import annotations

import contextlib
import io
import logging
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from gstreamed.errors import GstreamedError
from gstreamed.track.matching import iou_matrix
from gstreamed.track.mot import MotTable

log = logging.getLogger(__name__)

MATCH_IOU = 0.5
# name in our reports -> (TrackEval metric, TrackEval field)
FIELDS: dict[str, tuple[str, str]] = {
    "HOTA": ("HOTA", "HOTA"),
    "DetA": ("HOTA", "DetA"),
    "AssA": ("HOTA", "AssA"),
    "MOTA": ("CLEAR", "MOTA"),
    "MOTP": ("CLEAR", "MOTP"),
    "IDF1": ("Identity", "IDF1"),
    "IDP": ("Identity", "IDP"),
    "IDR": ("Identity", "IDR"),
    "IDSW": ("CLEAR", "IDSW"),
    "precision": ("CLEAR", "CLR_Pr"),
    "recall": ("CLEAR", "CLR_Re"),
    "TP": ("CLEAR", "CLR_TP"),
    "FP": ("CLEAR", "CLR_FP"),
    "FN": ("CLEAR", "CLR_FN"),
    "MT": ("CLEAR", "MT"),
    "ML": ("CLEAR", "ML"),
    "Frag": ("CLEAR", "Frag"),
}
INTEGER_FIELDS = {"IDSW", "TP", "FP", "FN", "MT", "ML", "Frag"}


def _metrics() -> list[Any]:
    """TrackEval's HOTA, CLEAR and Identity metric objects (its import chatter silenced)."""
    chatter = io.StringIO()
    try:
        with contextlib.redirect_stdout(chatter):
            from trackeval.metrics import CLEAR, HOTA, Identity
    except ImportError:
        raise GstreamedError(
            "evaluation needs TrackEval: pip install --no-deps trackeval==1.3.0 "
            "(or re-run ./setup.sh)"
        ) from None
    if chatter.getvalue().strip():
        log.debug("trackeval: %s", chatter.getvalue().strip())
    quiet = {"PRINT_CONFIG": False}
    return [
        HOTA(dict(quiet)),
        CLEAR(dict(quiet, THRESHOLD=MATCH_IOU)),
        Identity(dict(quiet, THRESHOLD=MATCH_IOU)),
    ]


def _contiguous(ids: np.ndarray) -> tuple[np.ndarray, int]:
    unique, inverse = np.unique(ids, return_inverse=True)
    return inverse.astype(np.int64), len(unique)


def prepare(gt: MotTable, results: MotTable, num_frames: int | None = None) -> dict[str, Any]:
    """One sequence in TrackEval's per-frame form (ids, IoU similarity per frame)."""
    frames = max(num_frames or 0, gt.num_frames, results.num_frames)
    gt_ids_all, num_gt_ids = _contiguous(gt.id[gt.conf != 0])
    gt_keep = gt.select(gt.conf != 0)
    ignored = gt.select(gt.conf == 0)
    trk_ids_all, num_trk_ids = _contiguous(results.id)

    data: dict[str, Any] = {
        "num_timesteps": frames,
        "gt_ids": [],
        "tracker_ids": [],
        "similarity_scores": [],
        "num_gt_ids": num_gt_ids,
    }
    used_trk = np.zeros(num_trk_ids, dtype=bool)
    num_trk_dets = 0
    for f in range(1, frames + 1):
        g = gt_keep.frame == f
        t = np.flatnonzero(results.frame == f)
        ign = ignored.xyxy[ignored.frame == f]
        if len(ign) and len(t):
            iou = iou_matrix(ign, results.xyxy[t])
            iou[iou < MATCH_IOU - np.finfo(float).eps] = 0
            rows, cols = linear_sum_assignment(iou, maximize=True)
            t = np.delete(t, cols[iou[rows, cols] > 0])
        data["gt_ids"].append(gt_ids_all[g])
        data["tracker_ids"].append(trk_ids_all[t])
        data["similarity_scores"].append(iou_matrix(gt_keep.xyxy[g], results.xyxy[t]))
        used_trk[trk_ids_all[t]] = True
        num_trk_dets += len(t)
    # Re-number tracker ids so that ids whose boxes were all dropped do not count.
    remap = np.cumsum(used_trk) - 1
    data["tracker_ids"] = [remap[ids] for ids in data["tracker_ids"]]
    data.update(
        num_tracker_ids=int(used_trk.sum()), num_gt_dets=len(gt_keep), num_tracker_dets=num_trk_dets
    )
    return data


def _summary(per_metric: dict[str, dict[str, Any]]) -> dict[str, float | int]:
    out: dict[str, float | int] = {}
    for name, (metric, field) in FIELDS.items():
        value = per_metric[metric][field]
        value = float(np.mean(value)) if np.ndim(value) else value
        out[name] = int(value) if name in INTEGER_FIELDS else round(float(value), 6)
    return out


def evaluate(sequences: dict[str, dict[str, Any]]) -> dict[str, dict[str, float | int]]:
    """Metrics per sequence, plus ``"COMBINED"`` over all of them (TrackEval's combination).

    Ratios are fractions (0..1); HOTA, DetA and AssA are averaged over IoU thresholds.
    """
    if not sequences:
        raise GstreamedError("nothing to evaluate: no sequences")
    metrics = _metrics()
    per_seq: dict[str, dict[str, dict[str, Any]]] = {}
    for name, seq in sequences.items():
        per_seq[name] = {}
        for metric in metrics:
            with contextlib.redirect_stdout(io.StringIO()):
                per_seq[name][metric.get_name()] = metric.eval_sequence(seq)
    combined = {
        m.get_name(): m.combine_sequences({n: r[m.get_name()] for n, r in per_seq.items()})
        for m in metrics
    }
    report = {name: _summary(res) for name, res in per_seq.items()}
    report["COMBINED"] = _summary(combined)
    return report
