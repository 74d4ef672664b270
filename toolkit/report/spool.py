"""A temporary file that holds a report's body while hosts finish, so memory stays flat.

JUnit and HTML put counts in their header, known only at the end: each host's part is appended to a
spool as it finishes, and :meth:`Spool.assemble` writes header, body and footer to the real file at once
(through a temporary name, so a reader never sees half a report).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


class Spool:
    """Text parts appended one by one, copied into ``target`` between a header and a footer."""

    def __init__(self, target: Path) -> None:
        self.target = target
        target.parent.mkdir(parents=True, exist_ok=True)
        # Beside the target: the final rename stays on one filesystem.
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        self._path = Path(name)
        self._file = os.fdopen(handle, "w+", encoding="utf-8")

    def write(self, text: str) -> None:
        self._file.write(text)

    def assemble(self, header: str, footer: str) -> None:
        """Write ``header``, everything spooled, then ``footer`` to the target; removes the spool."""
        self._file.flush()
        self._file.seek(0)
        temporary = self.target.with_name(f".{self.target.name}.tmp")
        try:
            with temporary.open("w", encoding="utf-8") as out:
                out.write(header)
                shutil.copyfileobj(self._file, out, 1024 * 1024)
                out.write(footer)
            temporary.replace(self.target)
        except BaseException:  # a failed write or rename leaves nothing behind
            temporary.unlink(missing_ok=True)
            raise
        finally:
            self.discard()

    def discard(self) -> None:
        """Close and remove the spool (idempotent)."""
        if not self._file.closed:
            self._file.close()
        self._path.unlink(missing_ok=True)
