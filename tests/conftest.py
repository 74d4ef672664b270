"""Session-wide test setup: no test writes to the developer's own jcfix data directory, and no test reads
another test's run history.

Every jcfix run records itself in the run history (``platformdirs.user_data_dir("jcfix")``); the CLI
subprocesses of the tests inherit this ``XDG_DATA_HOME``, so their history lands in a temporary directory.
Each test also gets its own ``JCFIX_HISTORY``: the history is read back by diagnose (a fix still pending
on a host is remembered), and the lab's host names repeat from test to test.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="jcfix-test-data-")


@pytest.fixture(autouse=True)
def _own_run_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A run-history file for this test alone (``$JCFIX_HISTORY``), unless the test set one itself."""
    path = tmp_path_factory.mktemp("history") / "history.sqlite3"
    before = os.environ.get("JCFIX_HISTORY")
    os.environ["JCFIX_HISTORY"] = str(path)
    yield path
    if before is None:
        os.environ.pop("JCFIX_HISTORY", None)
    else:
        os.environ["JCFIX_HISTORY"] = before
