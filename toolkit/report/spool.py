"""Temporary files that hold a report's body while hosts finish, so memory stays flat.

JUnit and HTML put counts in their header, known only at the end: each host's part is appended to a
spool as it finishes, and :meth:`Spool.assemble` writes header, body and footer to the real file at once
(through a temporary name, so a reader never sees half a report).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from array import array
from collections.abc import Iterator
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


class OrderedSpool:
    """Texts put in any order, each at its position (0 to ``size - 1``), read back in position order.

    A temporary file holds the texts; memory keeps only two integers per position, so a 10,000-host run
    can print in the fleet's order what hosts produced in finishing order. Removed by :meth:`close`.
    """

    def __init__(self, size: int) -> None:
        self._file = tempfile.TemporaryFile("w+b")  # noqa: SIM115 (closed by close(); a context manager too)
        self._offsets = array("q", [-1]) * size
        self._lengths = array("q", [0]) * size
        self._end = 0

    def put(self, position: int, text: str) -> None:
        """Store ``text`` at ``position`` (a position put twice keeps the later text)."""
        data = text.encode("utf-8")
        self._file.seek(self._end)
        self._file.write(data)
        self._offsets[position], self._lengths[position] = self._end, len(data)
        self._end += len(data)

    def __len__(self) -> int:
        """How many positions hold a text."""
        return sum(1 for offset in self._offsets if offset >= 0)

    def texts(self) -> Iterator[str]:
        """Every text put, in position order (positions never put are left out)."""
        self._file.flush()
        for offset, length in zip(self._offsets, self._lengths, strict=True):
            if offset >= 0:
                self._file.seek(offset)
                yield self._file.read(length).decode("utf-8")

    def close(self) -> None:
        """Close and remove the temporary file (idempotent)."""
        self._file.close()

    def __enter__(self) -> OrderedSpool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
