"""Session-wide test setup: no test writes to the developer's own jcfix data directory.

Every jcfix run records itself in the run history (``platformdirs.user_data_dir("jcfix")``); the CLI
subprocesses of the tests inherit this ``XDG_DATA_HOME``, so their history lands in a temporary directory.
"""

from __future__ import annotations

import os
import tempfile

os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="jcfix-test-data-")
