"""Helpers for the hardening suite (issue 15): the CLI's own command tree, jcfix run in this process or in a
subprocess with bounded memory, and a loopback listener that records every connection made to it.

The test files import this module by name: pytest puts ``tests/hardening`` on ``sys.path`` (rootdir-relative
"prepend" import mode, no ``__init__.py``), as it does for ``tests/e2e/e2e_support.py``.
"""

from __future__ import annotations

import contextlib
import io
import os
import resource
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from subprocess_env import environ_without_jcfix

from toolkit.cli.app import build_command, main
from toolkit.lab.constants import LAB_PASSWORD, LAB_USERNAME

#: bytes of address space a jcfix subprocess may use: a YAML bomb that is not refused ends in MemoryError
MEMORY_LIMIT = 1 << 30


@dataclass
class Outcome:
    """What one jcfix run left behind."""

    code: int
    stdout: str
    stderr: str


def leaf_commands() -> list[tuple[tuple[str, ...], Any]]:
    """Every runnable command of the CLI's own click tree, as ``(("fix", "rename"), command)``."""
    found: list[tuple[tuple[str, ...], Any]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            found.append((path, command))
            return
        for name, sub in subcommands.items():
            walk(sub, (*path, name))

    walk(build_command(), ())
    return found


def base_environment(tmp_path: Path) -> dict[str, str]:
    """A jcfix environment with no user config, lab credentials, and every data folder under ``tmp_path``."""
    env = environ_without_jcfix()
    env.update(
        JCFIX_CONFIG="/dev/null",
        JCFIX_USER=LAB_USERNAME,
        JCFIX_PASSWORD=LAB_PASSWORD,
        JCFIX_JC_JOURNAL_DIR=str(tmp_path / "journal"),
        JCFIX_LAB_DIR=str(tmp_path / "lab"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        COLUMNS="80",
        NO_COLOR="1",
    )
    return env


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_here(args: list[str], env: dict[str, str]) -> Outcome:
    """``jcfix ARGS`` in this process (cheap: no interpreter start), with ``env`` and an empty stdin."""
    out, err = io.StringIO(), io.StringIO()
    stdin = sys.stdin
    sys.stdin = io.StringIO("")
    code: Any = 0
    try:
        with _environment(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code
    finally:
        sys.stdin = stdin
    return Outcome(int(code or 0) if not isinstance(code, str) else 1, out.getvalue(), err.getvalue())


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_process(args: list[str], env: dict[str, str], timeout: float = 20, bounded: bool = False) -> Outcome:
    """``jcfix ARGS`` in a subprocess (``bounded``: with at most :data:`MEMORY_LIMIT` bytes of address space);
    a run past ``timeout`` is killed (exit code -9) rather than failing the test with a timeout."""
    process = subprocess.Popen(
        [sys.executable, "-m", "toolkit", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
        preexec_fn=_limit_memory if bounded else None,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        return Outcome(-9, stdout, stderr + f"\n(killed after {timeout}s)")
    return Outcome(process.returncode, stdout, stderr)


def bad_input_problems(outcome: Outcome) -> list[str]:
    """Why ``outcome`` is not a clean refusal of bad input (empty when it is): exit 2, one ``jcfix:`` line on
    stderr, no traceback."""
    problems = []
    if outcome.code != 2:
        problems.append(f"exit {outcome.code}, not 2")
    lines = outcome.stderr.splitlines()
    if len(lines) != 1:
        problems.append(f"{len(lines)} stderr lines, not 1")
    if lines and not lines[0].startswith("jcfix:"):
        problems.append("stderr does not start with 'jcfix:'")
    if "Traceback" in outcome.stderr + outcome.stdout:
        problems.append("a traceback")
    return problems


class ConnectionRecorder:
    """A TCP listener on 127.0.0.1 that accepts, records and at once closes every connection.

    Pointed at by a command under test, it proves the command sent nothing: ``count`` stays 0.
    """

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self._socket.settimeout(0.2)
        self.port: int = self._socket.getsockname()[1]
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="connection-recorder", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except (TimeoutError, OSError):
                continue
            self.count += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._socket.close()


def process_texts(root_pid: int) -> list[tuple[int, bytes]]:
    """The command line of every readable process, and the environment of ``root_pid``'s descendants."""
    children: dict[int, list[int]] = {}
    texts: list[tuple[int, bytes]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        with contextlib.suppress(OSError):
            texts.append((pid, (entry / "cmdline").read_bytes()))
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(pid)
    pending = list(children.get(root_pid, []))
    while pending:
        pid = pending.pop()
        with contextlib.suppress(OSError):
            texts.append((pid, Path(f"/proc/{pid}/environ").read_bytes()))
        pending.extend(children.get(pid, []))
    return texts
