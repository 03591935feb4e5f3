"""A thread relaying a stream runs with a short scheduler slice (ConduixStreamSlice,
default 200 us), so an upstream event that wakes it on a busy CPU is relayed at once,
and gives it back when the stream ends, so the plain requests it serves next run with
the kernel's slice; ConduixStreamSlice 0 leaves every thread as the kernel made it.
Read from /proc/<pid>/task/<tid>/sched, where EEVDF kernels show se.slice."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from harness import Gateway, Httpd, iter_sse


def _children(parent: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                # pid (comm) state ppid ...: comm may hold spaces, so split after ')'
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent:
            kids.append(int(entry))
    return kids


def _slices(h: Httpd) -> list[int]:
    """se.slice (ns) of every thread of h's children; [] where the kernel shows none."""
    parent = int((h.dir / "httpd.pid").read_text().split()[0])
    out = []
    for pid in _children(parent):
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                text = Path("/proc/%d/task/%s/sched" % (pid, tid)).read_text()
            except OSError:
                continue
            for line in text.splitlines():
                if line.startswith("se.slice"):
                    out.append(int(line.split(":")[1]))
    return out


SHORT = 200000   # ns: ConduixStreamSlice's default, 200 us


def _slices_during_slow_stream(gw: Gateway, h: Httpd, sim, key) -> list[int]:
    """se.slice of h's threads read while a stream is in flight (the simulator waits
    between events), after its first event; the stream is then read to its end."""
    sim.fault(provider="openai", count=1, chunk_delay_ms=150)
    r = gw.chat(key, content="one two three four five six", stream=True)
    assert r.status_code == 200, r.text[:300]
    events = iter_sse(r)
    first = next(events)
    assert first.data != "[DONE]"
    during = _slices(h)
    rest = list(events)
    assert rest and rest[-1].data == "[DONE]"
    return during


def _short_ones_after(h: Httpd, timeout: float = 3.0) -> list[int]:
    """Threads still holding the short slice; the relay restores its slice just
    after the client has read [DONE], so allow it a moment (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        short = [s for s in _slices(h) if s == SHORT]
        if not short or time.monotonic() > deadline:
            return short
        time.sleep(0.05)


@pytest.fixture(scope="module")
def kernel_slices(httpd):
    before = _slices(httpd)
    if not before or max(before) <= SHORT:
        pytest.skip("this kernel shows no scheduler slices longer than 200 us to shorten "
                    "(EEVDF custom slices need Linux 6.12)")
    return before


def test_a_relaying_thread_holds_the_short_slice_until_the_stream_ends(httpd, gw, sim, live_key,
                                                                        kernel_slices):
    during = _slices_during_slow_stream(gw, httpd, sim, live_key)
    assert during.count(SHORT) == 1, \
        "exactly the relaying thread should run with 200 us: %s" % sorted(set(during))
    # the MPM's other threads keep the kernel's slice
    assert any(s > SHORT for s in during), sorted(set(during))
    assert _short_ones_after(httpd) == [], "the relay kept its short slice after the stream"


def test_plain_requests_after_streams_run_with_the_kernels_slice(httpd, gw, live_key, kernel_slices):
    for _ in range(4):
        r = gw.chat(live_key, content="relay me", stream=True)
        assert r.status_code == 200, r.text[:300]
        assert list(iter_sse(r))[-1].data == "[DONE]"
        assert gw.chat(live_key, content="plain").status_code == 200
    assert _short_ones_after(httpd) == []
    assert sorted(set(_slices(httpd))) == sorted(set(kernel_slices))


def test_stream_slice_zero_leaves_the_threads_alone(stack, httpd, sim, live_key, kernel_slices):
    h = Httpd(stack.root / ("httpd-noslice-" + httpd.mpm), httpd.mpm, stack.mariadb.dsn, stack.sim,
              extra_conf="ConduixStreamSlice 0")
    h.start()
    try:
        during = _slices_during_slow_stream(Gateway(h), h, sim, live_key)
        assert during and SHORT not in during, sorted(set(during))
    finally:
        h.stop()
