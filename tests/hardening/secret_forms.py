"""Support for the secret-sentinel sweep: every form in which a password is as secret as itself, and jcfix run
with each report its worker processes pickle for the parent also written to a folder (for the file sweep).

A password under ``--auth ntlm`` travels through jcfix as pyspnego's ``LM:NT`` hash form
(``toolkit.transport.ntlmhash``), which is enough to log on (pass-the-hash). The forms here are computed with
pyspnego's own functions, not jcfix's, so that a fault in jcfix's derivation cannot hide a leak.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from spnego._ntlm_raw.crypto import lmowfv1, ntowfv1

#: the environment variable naming the folder the launcher writes each worker's pickled report to
PICKLE_DIR_ENV = "SWEEP_PICKLE_DIR"

#: ``python -c LAUNCHER ARGS``: jcfix ARGS, with each pickled worker report also written to $SWEEP_PICKLE_DIR.
#: Workers are forked, so the wrapped ``dumps_report`` is what each worker calls (toolkit.workers._send).
LAUNCHER = f"""
import os, sys
import toolkit.workers as workers
_dumps = workers.dumps_report
def _kept(position, report):
    data = _dumps(position, report)
    name = f"report-{{os.getpid()}}-{{position}}.pickle"
    with open(os.path.join(os.environ[{PICKLE_DIR_ENV!r}], name), "wb") as out:
        out.write(data)
    return data
workers.dumps_report = _kept
sys.argv[0] = "jcfix"
from toolkit.cli.app import main
main()
"""


def secret_forms(name: str, password: str) -> dict[str, bytes]:
    """``password`` and its NTLM forms, by a label (``NAME``, ``NAME as NT hex``...): each must never appear.

    The LM and NT hashes in hex, lower and upper case (pyspnego's ``LM:NT`` form is made of the two halves, so
    each half alone is looked for), the raw 16-byte hashes, and the password in UTF-16-LE (NTLM's encoding).
    """
    lm, nt = lmowfv1(password), ntowfv1(password)
    return {
        name: password.encode(),
        f"{name} in UTF-16-LE": password.encode("utf-16-le"),
        f"{name} as LM hex": lm.hex().encode(),
        f"{name} as LM HEX": lm.hex().upper().encode(),
        f"{name} as NT hex": nt.hex().encode(),
        f"{name} as NT HEX": nt.hex().upper().encode(),
        f"{name} as raw LM hash": lm,
        f"{name} as raw NT hash": nt,
    }


def leaks_in(text: bytes, forms: dict[str, bytes]) -> list[str]:
    """The labels of the ``forms`` found in ``text``."""
    return [label for label, value in forms.items() if value in text]


def pickled_reports(folder: Path) -> dict[int, int]:
    """How many pickled reports each worker process wrote to ``folder`` (by PID), as the launcher names them."""
    counts: dict[int, int] = {}
    for path in folder.glob("report-*.pickle"):
        pid = int(path.name.split("-")[1])
        counts[pid] = counts.get(pid, 0) + 1
    return counts


def launcher_environment(env: dict[str, str], folder: Path, workers: int) -> dict[str, str]:
    """``env`` for a run through :data:`LAUNCHER`: its pickle folder made, ``workers`` worker processes forced."""
    folder.mkdir(parents=True, exist_ok=True)
    return {**env, PICKLE_DIR_ENV: str(folder), "JCFIX_WORKERS": str(workers), "PYTHONPATH": _project_root()}


def _project_root() -> str:
    # The launcher imports toolkit by name: the subprocess must find this checkout's package first.
    root = str(Path(__file__).resolve().parents[2])
    current = os.environ.get("PYTHONPATH", "")
    return f"{root}{os.pathsep}{current}" if current else root


def process_texts(root_pid: int) -> list[tuple[int, bytes]]:
    """The command line of every readable process, and the environment of each process ``root_pid`` started.

    A forked worker's environment is its parent's own block (``/proc/PID/environ`` shows the memory it inherited),
    not an environment jcfix gave a process: a descendant with the root's command line and environment both (a
    fork that did not exec) is skipped; any program jcfix executes has its environment read.
    """
    children: dict[int, list[int]] = {}
    texts: list[tuple[int, bytes]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            texts.append((int(entry.name), (entry / "cmdline").read_bytes()))
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    inherited = _identity(root_pid)
    pending = list(children.get(root_pid, []))
    while pending:
        pid = pending.pop()
        identity = _identity(pid)
        if identity is not None and identity != inherited:
            texts.append((pid, identity[1]))
        pending.extend(children.get(pid, []))
    return texts


def _identity(pid: int) -> tuple[bytes, bytes] | None:
    """A process's command line and environment, as /proc shows them (None: gone, or not readable)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes(), Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
