#!/usr/bin/env bash
# The main job: set everything up, make a sample clip, detect + track objects in it.
# Uses --model PATH, $GSTREAMED_MODEL or the cached default model; with none, the first run
# downloads YOLOv8n (checked against its pinned sha256) into the cache.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
exec .venv/bin/gstreamed demo "$@"
