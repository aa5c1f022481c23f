"""``python -m gstreamed`` runs the CLI."""

import sys

from gstreamed.cli import main

sys.exit(main())
