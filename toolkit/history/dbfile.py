"""The history database as a file: refused up front when it cannot be one, created private to its owner.

* A ``--history`` path that is a directory, cannot be read, or is not an SQLite database is a
  :class:`~toolkit.errors.UsageError` (exit 2) naming the file, never an internal error.
* A new file is created ``0600`` (the history holds host names, addresses, accounts and result documents),
  and a folder jcfix creates for it ``0700``. SQLite gives its ``-wal`` and ``-shm`` files the database
  file's mode, so they are private too.
* An existing file is never chmod-ed behind its owner's back (it may be shared on purpose): a group- or
  world-readable one gets one warning line per process.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import sys
from pathlib import Path

from toolkit.errors import UsageError

FILE_MODE = 0o600
FOLDER_MODE = 0o700
_warned: set[Path] = set()  # one warning per file and process: a run opens its history several times


def refuse_unusable(path: Path) -> bool:
    """Whether ``path`` exists; a :class:`UsageError` naming it when it cannot be a history file."""
    if path.is_dir():
        raise UsageError(f"the run history {path} is a directory, not a file (give a file with --history)")
    if not path.exists():
        if path.parent.exists() and not path.parent.is_dir():
            raise UsageError(f"the run history {path} cannot be created: {path.parent} is not a directory")
        return False
    if not os.access(path, os.R_OK):
        raise UsageError(f"the run history {path} cannot be read (permission denied)")
    return True


def warn_if_shared(path: Path) -> None:
    """One warning line when ``path`` is readable by its group or other users (left as it is)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077 and path not in _warned:
        _warned.add(path)
        print(
            f"jcfix: warning: the run history {path} is readable by other users (mode {mode:o}); "
            f"chmod 600 it to keep it private",
            file=sys.stderr,
        )


def create_private(path: Path) -> None:
    """Create the folder (``0700``, only the levels jcfix makes) and an empty file (``0600``) when missing."""
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    try:
        for folder in reversed(missing):
            folder.mkdir(mode=FOLDER_MODE, exist_ok=True)
            os.chmod(folder, FOLDER_MODE)  # mkdir's mode passes through the umask: made exact
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:  # another jcfix created it first: its file, its mode
        return
    except OSError as exc:
        raise UsageError(f"the run history {path} cannot be created: {exc.strerror or exc}") from None
    os.close(handle)
    os.chmod(path, FILE_MODE)  # the umask again


def open_sqlite(path: Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    """``sqlite3.connect`` to an existing or just created history file; a :class:`UsageError` if it fails."""
    try:
        return sqlite3.connect(path, timeout=30, check_same_thread=check_same_thread)
    except sqlite3.Error as exc:
        raise UsageError(f"cannot read the run history {path}: {exc}") from None
