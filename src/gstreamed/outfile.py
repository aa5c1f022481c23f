"""Files that appear under their final name only when complete.

A `PendingFile` is created under an exclusive temporary name beside its final path
(``O_CREAT | O_EXCL | O_NOFOLLOW``: a planted file or symlink there is never followed or
reused) and moved into place by `PendingFile.commit` once written and finalised. Without
``overwrite`` the move refuses to replace a file that appeared meanwhile (another run writing
the same path), so two runs can never interleave their bytes in one file. A failed or abandoned
write leaves nothing under the final name: `PendingFile.discard` removes the temporary file.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from gstreamed.errors import GstreamedError


class PendingFile:
    """A file being written under a temporary name, committed to ``final`` when complete."""

    def __init__(self, final: Path | str, *, overwrite: bool = False) -> None:
        self.final = Path(final)
        self.overwrite = overwrite
        self.path = _create_exclusive(self.final)
        self.done = False

    def open(self, mode: str = "wb") -> IO[bytes]:
        """Open the temporary file for writing (binary; it exists already, empty)."""
        return open(self.path, mode)

    def commit(self) -> Path:
        """Move the finished file to its final name; returns that name."""
        if self.done:
            return self.final
        try:
            if self.overwrite:
                os.replace(self.path, self.final)
            else:
                _move_no_clobber(self.path, self.final)
        except OSError as err:
            self.discard()
            reason = "it exists already" if err.errno == errno.EEXIST else err.strerror
            raise GstreamedError(f"{self.final}: cannot write it: {reason}") from None
        self.done = True
        return self.final

    def discard(self) -> None:
        """Remove the temporary file (nothing appears under the final name)."""
        if not self.done:
            self.path.unlink(missing_ok=True)
            self.done = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def temporary_name(final: Path) -> Path:
    """A fresh hidden name beside ``final`` (``.NAME.RANDOM.partial``)."""
    return final.with_name(f".{final.name}.{secrets.token_hex(4)}.partial")


def _create_exclusive(final: Path) -> Path:
    """Create an empty temporary file beside ``final`` that no other process made."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(16):
        path = temporary_name(final)
        try:
            os.close(os.open(path, flags, 0o666))
        except FileExistsError:
            continue
        except OSError as err:
            raise GstreamedError(f"{final}: cannot write it: {err.strerror}") from None
        return path
    raise GstreamedError(f"{final}: cannot create a temporary file beside it")


def _move_no_clobber(path: Path, final: Path) -> None:
    """Rename ``path`` to ``final`` unless ``final`` exists (atomic where hard links work)."""
    try:
        os.link(path, final, follow_symlinks=False)
    except OSError as err:
        if err.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # A file system without hard links: check, then rename (a small race remains).
        if final.exists() or final.is_symlink():
            raise FileExistsError(errno.EEXIST, "exists", str(final)) from None
        os.rename(path, final)
        return
    path.unlink()
