#!/usr/bin/env bash
# The main job: set everything up, make a sample clip, detect + track objects in it.
# Needs a model: --model PATH, $GSTREAMED_MODEL, or one pulled into the cache
# ('gstreamed models pull yolov8n'); without one it stops with that instruction.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
exec .venv/bin/gstreamed demo "$@"
