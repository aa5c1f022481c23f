"""The one exception type for errors a user can cause (bad input, bad model, bad options)."""

from __future__ import annotations


class GstreamedError(Exception):
    """An error the user can fix; the message says what went wrong and what to do.

    The CLI prints it on one line and exits non-zero.
    """
