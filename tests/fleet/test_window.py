"""The adaptive window (toolkit.window) against a simulated fleet: a client that finishes hosts at
``window / host_time`` per second until its CPU caps the rate. It must grow while latency is the limit,
settle near the knee when the CPU is, shrink back when a larger window does not pay, ease off when hosts
time out, and never pass its cap."""

from __future__ import annotations

import itertools

import pytest

from toolkit.window import DEFAULT_FORKS, REPROBE_PERIODS, AdaptiveWindow, FixedWindow


def simulate(
    window: AdaptiveWindow,
    *,
    latency_s: float,
    cpu_rate: float,
    hosts: int,
    timeout_share: float = 0.0,
    start: float = 0.0,
) -> float:
    """Drive ``window`` through ``hosts`` host endings of a fluid model from ``start``; returns the end time.

    With ``n`` hosts at once the fleet finishes ``min(n / latency_s, cpu_rate)`` hosts/s and each host
    takes ``n / rate`` (Little's law: waiting for the CPU stretches hosts once it is saturated). A
    ``timeout_share`` of hosts end unreachable after 30 s (they timed out).
    """
    now = start
    for number in range(hosts):
        n = window.limit
        rate = min(n / latency_s, cpu_rate)
        now += 1 / rate
        timed_out = timeout_share > 0 and number % round(1 / timeout_share) == 0
        window.started(now)
        window.finished(now, 30.0 if timed_out else n / rate, timed_out)
    return now


def test_at_wan_latency_it_grows_until_the_cpu_is_the_limit() -> None:
    # 2 s per host, the CPU can do 50 hosts/s: the knee is 100 hosts at once.
    window = AdaptiveWindow(cap=512)
    simulate(window, latency_s=2.0, cpu_rate=50.0, hosts=6000)
    assert 100 <= window.limit <= 200
    assert max(size for size, _ in window.history) >= 100
    # The last periods run at (nearly) the best rate the model allows.
    assert window.history[-1][1] >= 0.9 * 50.0


def test_on_a_lan_the_cpu_is_the_limit_and_it_does_not_keep_a_big_window() -> None:
    # 0.1 s per host, 50 hosts/s: the knee is 5 hosts; it starts at the cap and every smaller window is as fast.
    window = AdaptiveWindow(cap=512)
    assert window.limit == 512
    simulate(window, latency_s=0.1, cpu_rate=50.0, hosts=20000)
    assert window.limit <= 16  # probing down kept smaller windows that finish hosts as fast, down to the knee
    sizes = [size for size, _ in window.history]
    assert sizes[:REPROBE_PERIODS] == [512] * REPROBE_PERIODS  # no probe down at once (a WAN run would pay for it)
    descent = sizes[REPROBE_PERIODS - 1 : sizes.index(min(sizes)) + 1]
    # One probe after another, no settling at each step: strictly smaller each period.
    assert all(later < earlier for earlier, later in itertools.pairwise(descent))
    assert all(size <= 16 for size in sizes[-5:])  # later probes up are undone


def test_a_given_start_is_kept_within_the_cap_and_grows_while_latency_is_the_limit() -> None:
    window = AdaptiveWindow(cap=512, start=16)
    assert window.limit == 16
    simulate(window, latency_s=2.0, cpu_rate=50.0, hosts=3000)
    assert window.limit >= 64  # the knee is 100: doubling while the rate nearly doubles
    assert AdaptiveWindow(cap=8, start=64).limit == 8


def test_it_never_passes_the_cap() -> None:
    window = AdaptiveWindow(cap=40)
    simulate(window, latency_s=5.0, cpu_rate=1000.0, hosts=5000)
    sizes = [size for size, _ in window.history]
    assert max(sizes) == 40
    assert sizes.count(40) >= 0.8 * len(sizes)  # latency is the limit: probes below the cap are undone


def test_hosts_timing_out_shrink_it() -> None:
    window = AdaptiveWindow(cap=512)
    now = simulate(window, latency_s=2.0, cpu_rate=50.0, hosts=8000)
    grown = window.limit  # settled near the knee (100) from its start at the cap
    simulate(window, latency_s=2.0, cpu_rate=50.0, hosts=600, timeout_share=0.25, start=now)
    assert window.limit < grown


def test_adaptive_is_within_ten_percent_of_the_best_fixed_window_in_the_model() -> None:
    for latency_s in (0.2, 2.0):
        best = min(_fixed_time(size, latency_s) for size in (8, 16, 32, 64, 128, 256, 512))
        adaptive = simulate(AdaptiveWindow(cap=512), latency_s=latency_s, cpu_rate=40.0, hosts=10000)
        assert adaptive <= best * 1.10, (latency_s, adaptive, best)


def _fixed_time(size: int, latency_s: float) -> float:
    return 10000 / min(size / latency_s, 40.0)


def test_a_fixed_window_stays_put_and_bad_caps_are_refused() -> None:
    fixed = FixedWindow(16)
    fixed.started(0.0)
    fixed.finished(1.0, 1.0, False)
    assert fixed.limit == 16
    with pytest.raises(ValueError):
        AdaptiveWindow(cap=0)


def test_the_cli_default_is_the_window_module_s_cap() -> None:
    from toolkit.cli.connection import _OPTIONS  # the CLI keeps its own copy (start-up imports stay light)

    assert _OPTIONS["forks"][1] == DEFAULT_FORKS
