"""CLI options generated from the parameter tables (trackers, detection, encoding)."""

from __future__ import annotations

import argparse
import logging

import pytest

from gstreamed.commands.options import add_tracker_options, tracker_from_args
from gstreamed.errors import GstreamedError
from gstreamed.track import TRACKERS, BotSortTracker, ByteTracker, SortTracker


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_tracker_options(parser)
    return parser.parse_args(list(argv))


def test_one_option_per_parameter() -> None:
    parser = argparse.ArgumentParser()
    add_tracker_options(parser)
    options = {o for a in parser._actions for o in a.option_strings}
    for cls in TRACKERS.values():
        for param in cls.params():
            assert f"--{cls.PREFIX}{param.option}" in options
    assert {
        "--tracker",
        "--sort-max-age",
        "--bytetrack-track-buffer",
        "--no-bytetrack-fuse-score",
    } <= options


def test_defaults_give_published_parameters() -> None:
    default = tracker_from_args(_parse())
    assert isinstance(default, BotSortTracker)
    assert (default.track_thresh, default.new_track_thresh, default.cmc) == (0.6, 0.7, True)
    assert default.box == "kalman"
    tracker = tracker_from_args(_parse("--tracker", "sort", "--sort-box", "detection"))
    assert isinstance(tracker, SortTracker)
    assert (tracker.max_age, tracker.min_hits, tracker.iou_threshold) == (1, 3, 0.3)
    assert tracker.box == "detection"
    byte = tracker_from_args(_parse("--tracker", "bytetrack"))
    assert isinstance(byte, ByteTracker)
    assert (
        byte.track_thresh,
        byte.low_thresh,
        byte.new_track_thresh,
        byte.match_thresh,
        byte.track_buffer,
        byte.max_time_lost,
    ) == (0.5, 0.1, 0.6, 0.8, 30, 30)


def test_options_and_stream_frame_rate() -> None:
    tracker = tracker_from_args(
        _parse("--tracker", "sort", "--sort-max-age", "4", "--sort-iou-threshold", "0.5")
    )
    assert (tracker.max_age, tracker.iou_threshold) == (4, 0.5)
    byte = tracker_from_args(
        _parse(
            "--tracker", "bytetrack", "--bytetrack-track-buffer", "20", "--no-bytetrack-fuse-score"
        ),
        frame_rate=15.0,
    )
    assert byte.frame_rate == 15.0 and byte.max_time_lost == 10 and byte.fuse_score is False
    explicit = tracker_from_args(
        _parse("--tracker", "bytetrack", "--bytetrack-frame-rate", "60"), frame_rate=15.0
    )
    assert explicit.frame_rate == 60.0


def test_bad_value_is_a_user_error() -> None:
    with pytest.raises(GstreamedError, match="max_age"):
        tracker_from_args(_parse("--tracker", "sort", "--sort-max-age", "-2"))


def test_options_of_the_other_tracker_are_reported(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        tracker_from_args(_parse("--bytetrack-track-buffer", "5"))
    assert "--bytetrack-track-buffer ignored" in caplog.text


def test_stream_rate_sets_bytetrack_frame_rate_unless_given():
    from gstreamed.track import create_tracker

    assert create_tracker("bytetrack", 25.0).frame_rate == 25.0
    assert create_tracker("bytetrack", 25.0, frame_rate=10).frame_rate == 10.0
    assert create_tracker("bytetrack").frame_rate == 30.0
    assert create_tracker("bytetrack", 25.0).max_time_lost == 25  # 25 / 30 * 30 frames
    create_tracker("sort", 25.0)  # trackers without a frame rate ignore the stream's
