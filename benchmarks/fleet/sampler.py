"""Peak memory and file descriptors of a process tree, sampled from /proc by the driver (Linux)."""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

PROC = Path("/proc")


def _children_map() -> dict[int, list[int]]:
    """Every process's children, from each /proc/PID/stat's parent field."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        try:
            stat = (PROC / entry.name / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # The command name (field 2) may hold spaces and parentheses: the fields after the last ')' are fixed.
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants."""
    children = _children_map()
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rss_kib(pid: int) -> int:
    """The resident set of ``pid`` (VmRSS, KiB; 0 once it has exited)."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid: int) -> int:
    """The proportional set of ``pid`` (Pss, KiB: shared pages divided among their sharers; 0 once exited).

    Forked workers share the parent's pages until written: summed VmRSS counts those once per process,
    summed Pss once in all, which is what the tree really holds.
    """
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tcp_inodes() -> set[str]:
    """Inodes of every TCP socket in this network namespace (IPv4 and IPv6)."""
    inodes: set[str] = set()
    for name in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / name).read_text().splitlines()[1:]
        except OSError:
            continue
        inodes.update(line.split()[9] for line in lines if len(line.split()) > 9)
    return inodes


def descriptors(pid: int, tcp: set[str] | None) -> tuple[int, int]:
    """Open file descriptors of ``pid`` and, with ``tcp``, how many of them are TCP sockets."""
    try:
        names = os.listdir(PROC / str(pid) / "fd")
    except OSError:
        return 0, 0
    if tcp is None:
        return len(names), 0
    sockets = 0
    for name in names:
        try:
            link = os.readlink(PROC / str(pid) / "fd" / name)
        except OSError:
            continue
        sockets += link.startswith("socket:[") and link[8:-1] in tcp
    return len(names), sockets


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, in clock ticks, from /proc/stat's ``cpu`` line."""
    try:
        fields = [int(v) for v in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already inside user
    return total - idle, total


def busy_cores(marks: list[tuple[int, int]], cpus: int) -> list[float]:
    """Cores busy over each interval between successive ``(busy, total)`` marks."""
    return [
        cpus * (b2 - b1) / (t2 - t1) for (b1, t1), (b2, t2) in itertools.pairwise(marks) if t2 > t1
    ]


class TreeSampler:
    """Samples a process tree every ``interval_s`` in a thread: peak of the SUMS over the tree.

    Attributes after :meth:`stop`: ``peak_rss_kib`` (sum of VmRSS), ``peak_pss_kib`` (sum of Pss), ``peak_fds``
    (sum of open descriptors),
    ``peak_tcp`` (sum of TCP sockets, with ``count_tcp``), ``peak_processes`` (the tree's size, root included).
    """

    def __init__(self, root: int, interval_s: float = 0.1, count_tcp: bool = False) -> None:
        self.root = root
        self.interval_s = interval_s
        self.count_tcp = count_tcp
        self.peak_rss_kib = self.peak_pss_kib = self.peak_fds = self.peak_tcp = self.peak_processes = 0
        self.samples = 0
        self.machine_marks: list[tuple[int, int]] = []  # (busy, total) ticks of the whole machine, ~1 per second
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-sampler", daemon=True)

    def start(self) -> TreeSampler:
        self._thread.start()
        return self

    def sample(self) -> None:
        """One sample of the whole tree."""
        tree = process_tree(self.root)
        tcp = tcp_inodes() if self.count_tcp else None
        rss = pss = fds = sockets = 0
        for pid in tree:
            rss += rss_kib(pid)
            pss += pss_kib(pid)
            count, tcp_count = descriptors(pid, tcp)
            fds += count
            sockets += tcp_count
        self.peak_rss_kib = max(self.peak_rss_kib, rss)
        self.peak_pss_kib = max(self.peak_pss_kib, pss)
        self.peak_fds = max(self.peak_fds, fds)
        self.peak_tcp = max(self.peak_tcp, sockets)
        self.peak_processes = max(self.peak_processes, len(tree))
        self.samples += 1

    def _run(self) -> None:
        every = max(1, round(1.0 / self.interval_s))
        while not self._stop.is_set():
            if self.samples % every == 0:
                self.machine_marks.append(machine_jiffies())
            self.sample()
            self._stop.wait(self.interval_s)

    def machine_busy_cores(self) -> float:
        """The median of the machine's busy cores per ~1 s of the run (every process, the lab's too): the
        steady state, not diluted by the run's start and end as CPU time over the whole wall time is."""
        per_second = sorted(busy_cores(self.machine_marks, os.cpu_count() or 1))
        return per_second[len(per_second) // 2] if per_second else 0.0

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
