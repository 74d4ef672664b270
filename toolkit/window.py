"""How many hosts a fleet run works on at once: a fixed number, or a window that finds its own size.

The right number depends on where the time goes. Over a WAN (200 ms per response) a host spends
most of its ~2 s waiting, so hosts per minute grow with the window until the client's CPU (or the
network) is the limit; on a LAN the CPU can be the limit at a few dozen hosts, and a larger window
only adds memory and sockets. :class:`AdaptiveWindow` measures instead of guessing: it starts at its
``cap`` (``--forks``) and keeps trying a smaller window while a smaller one finishes hosts as fast
(the CPU, not latency, is then the limit), grows again while growing raises the rate at which hosts
finish, and shrinks when hosts start timing out. It never goes past its cap.

Hill climbing on the finish rate, not a model of CPU: the rate is what the admin wants, it is
measured the same way on every platform, and it includes everything the run shares the machine
with (on the benchmark's machine, the lab itself).
"""

from __future__ import annotations

import logging
import statistics
from collections import deque
from dataclasses import dataclass, field

_log = logging.getLogger("jcfix.window")

__all__ = ["DEFAULT_FORKS", "REPROBE_PERIODS", "START_WINDOW", "AdaptiveWindow", "FixedWindow", "HostWindow"]

DEFAULT_FORKS = 256  # the most hosts at once unless --forks says otherwise (toolkit/cli/connection.py too)
START_WINDOW: int | None = None  # where an adaptive window starts; None: at its cap (see AdaptiveWindow)
GROW_FAST = 2.0  # the rate nearly doubled with the last growth: latency-bound, double again
GROW = 1.5
GAIN_FAST = 1.6  # rate ratio that counts as "scales with the window"
GAIN = 1.08  # rate ratio below which growing did not pay (measurement noise is ~5%)
SHRINK_ON_TIMEOUTS = 0.75
MIN_SAMPLES = 24  # hosts finished in a period before its rate is trusted
MIN_PERIOD_S = 1.0
REPROBE_PERIODS = 8  # after settling, try growing again this many periods later (conditions change)
SLOW_FACTOR = 10.0  # an unreachable host that took 10x the typical host: it timed out


class HostWindow:
    """The interface the runner uses: ``limit`` hosts at once; told when each host starts and ends."""

    limit: int

    def started(self, now: float) -> None:
        """A host started at ``now`` (``time.monotonic``)."""

    def finished(self, now: float, duration_s: float, unreachable: bool) -> None:
        """A host ended at ``now`` after ``duration_s``; ``unreachable`` when it could not be reached."""


@dataclass
class FixedWindow(HostWindow):
    """Always ``limit`` hosts at once."""

    limit: int


@dataclass
class _Period:
    """One measurement period: its window, when it started counting, and what finished in it."""

    limit: int
    since: float
    finished: int = 0
    slow_failures: int = 0


@dataclass
class AdaptiveWindow(HostWindow):
    """A window that grows while it raises the finish rate (see the module doc).

    Each measurement period runs at one window size and ends once enough hosts finished in it. A
    probe compares a period with the one before it: after growing, keep growing while the rate rose
    (double while it rose nearly in proportion); otherwise go back. Settled, it probes again every
    :data:`REPROBE_PERIODS` periods, alternately up and down, so that it follows a network or a CPU
    that changes under it (down: a smaller window that finishes hosts as fast is kept, which is how
    it shrinks once the CPU saturates). Hosts timing out shrink it at once.

    Args:
        cap: the most hosts at once (``--forks``).
        start: the first window (at most ``cap``); None, the default: the cap. Starting high costs
            little when the CPU is the limit (hosts wait longer, finish as fast) and measured probes
            soon bring it down; starting low costs a WAN run most of its speed: a 1,000-host run at
            200 ms lasts about eight host durations and each step up needs two to measure.
    """

    cap: int
    start: int | None = START_WINDOW
    limit: int = field(init=False)
    history: list[tuple[int, float]] = field(default_factory=list, init=False)  # (window, hosts/s) per period
    _period: _Period | None = field(default=None, init=False, repr=False)
    _probe: tuple[int, float] | None = field(default=None, init=False, repr=False)  # (window, rate) before it
    _settled: int = field(default=REPROBE_PERIODS, init=False, repr=False)  # periods since the last probe
    _probe_down_next: bool = field(default=False, init=False, repr=False)
    _durations: deque[float] = field(default_factory=lambda: deque(maxlen=64), init=False, repr=False)

    def __post_init__(self) -> None:
        if self.cap < 1:
            raise ValueError("cap must be at least 1")
        self.limit = self.cap if self.start is None else max(1, min(self.start, self.cap))
        if self.limit >= self.cap:
            # At the cap only a smaller window can be tried, and not at once: a probe down costs a latency-bound
            # run a third of its rate for two periods, most of a short WAN run (measured: 0.85x fixed 256).
            self._probe_down_next, self._settled = True, 0

    def typical_duration(self) -> float:
        """The median duration of recent reachable hosts (0 before any)."""
        return statistics.median(self._durations) if self._durations else 0.0

    def started(self, now: float) -> None:
        if self._period is None:
            self._period = _Period(self.limit, now)

    def finished(self, now: float, duration_s: float, unreachable: bool) -> None:
        typical = self.typical_duration()
        if not unreachable:
            self._durations.append(duration_s)
        period = self._period
        if period is None or now < period.since:
            return  # settling after a change: hosts that end now mostly started under the old window
        period.finished += 1
        period.slow_failures += unreachable and typical > 0 and duration_s > max(5.0, SLOW_FACTOR * typical)
        elapsed = now - period.since
        if period.finished >= MIN_SAMPLES and elapsed >= max(MIN_PERIOD_S, typical):
            self.limit = self._decide(period, period.finished / elapsed)
            _log.debug(
                "window %d: %.1f hosts/s over %.1f s (%d slow failures); next %d",
                period.limit, period.finished / elapsed, elapsed, period.slow_failures, self.limit,
            )  # fmt: skip
            # Hosts started under a new window finish about one host-duration later: count from then.
            settle = self.typical_duration() if self.limit != period.limit else 0.0
            self._period = _Period(self.limit, now + settle)

    def _decide(self, period: _Period, rate: float) -> int:
        """The next window, from the period that just ended at ``rate`` hosts/s."""
        self.history.append((period.limit, rate))
        if period.slow_failures * 10 > period.finished:
            self._probe, self._settled = None, 0
            return max(1, int(period.limit * SHRINK_ON_TIMEOUTS))  # hosts time out: ease off
        if self._probe is not None:
            before_limit, before_rate = self._probe
            self._probe = None
            gain = rate / before_rate if before_rate > 0 else 0.0
            if period.limit > before_limit and gain >= GAIN:
                return self._probe_from(period.limit, rate, up=True, fast=gain >= GAIN_FAST)
            if period.limit < before_limit and gain >= 1 / GAIN:
                # As fast with fewer hosts at once: the CPU, not latency, is the limit. Keep it, try fewer.
                return self._probe_from(period.limit, rate, up=False, fast=False)
            self._settled = 0
            return before_limit  # the change did not pay: the window before it was right
        self._settled += 1
        if self._settled < REPROBE_PERIODS:
            return period.limit
        down = self._probe_down_next and period.limit > 1
        self._probe_down_next = not self._probe_down_next
        return self._probe_from(period.limit, rate, up=not down, fast=not self.history[:-1])

    def _probe_from(self, limit: int, rate: float, *, up: bool, fast: bool) -> int:
        if up:
            new = min(self.cap, max(limit + 1, int(limit * (GROW_FAST if fast else GROW))))
        else:
            new = max(1, int(limit / GROW))
        self._settled = 0
        self._probe = (limit, rate) if new != limit else None
        return new
