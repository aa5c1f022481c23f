"""``gstreamed eval --gt GT --results RES``: HOTA, MOTA, IDF1 ... of MOTChallenge results."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from gstreamed.errors import GstreamedError
from gstreamed.tables import print_table
from gstreamed.track.evaluate import evaluate, prepare
from gstreamed.track.mot import find_sequences, read_mot, read_seqinfo

log = logging.getLogger(__name__)

COLUMNS = ("HOTA", "MOTA", "IDF1", "IDSW", "precision", "recall", "FP", "FN")


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "eval",
        help="score MOTChallenge tracking results against ground truth",
        description="Compute HOTA, MOTA, IDF1, ID switches, precision and recall (TrackEval) "
        "per sequence and overall. GT is a gt.txt or a directory in MOT layout "
        "(SEQ/gt/gt.txt, SEQ/seqinfo.ini); RESULTS is then a results file or a "
        "directory of SEQ.txt files.",
    )
    parser.add_argument("--gt", type=Path, required=True, help="gt.txt or MOT ground-truth dir")
    parser.add_argument(
        "--results",
        type=Path,
        required=True,
        help="results file, or directory with one SEQ.txt per sequence",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the metrics as JSON (ratios as fractions 0..1)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    parser.set_defaults(func=run)


def _pairs(gt: Path, results: Path) -> list[tuple[str, Path, Path, Path]]:
    """(name, gt.txt, results file, seqinfo.ini) for every sequence to score."""
    if not gt.exists():
        raise GstreamedError(f"{gt}: no such file or directory")
    if not results.exists():
        raise GstreamedError(f"{results}: no such file or directory")
    if gt.is_file():
        if results.is_dir():
            raise GstreamedError(f"--gt {gt} is a file, so --results must be a file too")
        return [(results.stem, gt, results, gt.parent.parent / "seqinfo.ini")]
    pairs = []
    for name, seq in find_sequences(gt, "gt/gt.txt"):
        result = results / f"{name}.txt" if results.is_dir() else results
        if not result.is_file():
            raise GstreamedError(f"no results for sequence {name}: {result} does not exist")
        pairs.append((name, seq / "gt" / "gt.txt", result, seq / "seqinfo.ini"))
    if results.is_file() and len(pairs) > 1:
        raise GstreamedError(f"{gt} has {len(pairs)} sequences; give a results directory")
    return pairs


def _cell(name: str, value: Any) -> str:
    return str(value) if isinstance(value, int) else f"{100 * value:.1f}"


def run(args: argparse.Namespace) -> int:
    """Score every sequence, print the table and write the JSON report if asked."""
    if args.json is not None and args.json.exists() and not args.force:
        raise GstreamedError(f"{args.json} already exists; use --force to overwrite it")
    data = {}
    for name, gt_path, result_path, seqinfo in _pairs(args.gt, args.results):
        info = read_seqinfo(seqinfo, name)
        data[name] = prepare(read_mot(gt_path), read_mot(result_path), info.length)
        log.info("%s: %s vs %s", name, result_path, gt_path)
    report = evaluate(data)
    rows = [(name, *(_cell(c, metrics[c]) for c in COLUMNS)) for name, metrics in report.items()]
    print_table(("sequence", *COLUMNS), rows, "tracking metrics (%)")
    if args.json is not None:
        combined = report.pop("COMBINED")
        try:
            args.json.write_text(
                json.dumps({"sequences": report, "combined": combined}, indent=2) + "\n",
                encoding="utf-8",
            )
        except OSError as err:
            raise GstreamedError(f"cannot write {args.json}: {err.strerror or err}") from None
    return 0
