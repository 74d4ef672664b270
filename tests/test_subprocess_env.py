"""The one filter that keeps the test runner's JCFIX_* settings out of the jcfix subprocesses tests start."""

from __future__ import annotations

import re
from pathlib import Path

from subprocess_env import environ_without_jcfix

ENV = {"PATH": "/bin", "JCFIX_USER": "me", "JCFIX_HISTORY": "/tmp/h", "JCFIX_TEST_HOST": "pc", "XJCFIX_A": "1"}


def test_jcfix_variables_are_dropped_but_the_history_by_default() -> None:
    assert environ_without_jcfix(environ=ENV) == {"PATH": "/bin", "JCFIX_HISTORY": "/tmp/h", "XJCFIX_A": "1"}


def test_keep_nothing_and_keep_a_prefix() -> None:
    assert environ_without_jcfix(keep=(), environ=ENV) == {"PATH": "/bin", "XJCFIX_A": "1"}
    kept = environ_without_jcfix(keep=(), keep_prefix="JCFIX_TEST_", environ=ENV)
    assert kept == {"PATH": "/bin", "JCFIX_TEST_HOST": "pc", "XJCFIX_A": "1"}


def test_the_result_is_a_copy() -> None:
    source = dict(ENV)
    environ_without_jcfix(environ=source)["PATH"] = "changed"
    assert source == ENV


def test_no_test_module_repeats_the_filter() -> None:
    # The duplicated comprehension, in any quoting: every test goes through environ_without_jcfix instead.
    repeated = re.compile(r"""startswith\(\s*["']JCFIX_["']\s*\)""")
    tests = Path(__file__).parent
    offenders = [
        str(path.relative_to(tests))
        for path in sorted(tests.rglob("*.py"))
        if path.name != "subprocess_env.py" and repeated.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
