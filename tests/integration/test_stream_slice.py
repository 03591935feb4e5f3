"""The threads that relay streams ask the kernel for a short scheduler slice
(ConduixStreamSlice, default 200 us), so an upstream event that wakes one on a busy
CPU is relayed at once; ConduixStreamSlice 0 leaves every thread as the kernel made
it. Read from /proc/<pid>/task/<tid>/sched, where EEVDF kernels show se.slice."""

from __future__ import annotations

import os
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


def _stream(gw: Gateway, key, n: int) -> None:
    for _ in range(n):
        r = gw.chat(key, content="relay me", stream=True)
        assert r.status_code == 200, r.text[:300]
        assert list(iter_sse(r))[-1].data == "[DONE]"


@pytest.fixture(scope="module")
def kernel_slices(httpd):
    before = _slices(httpd)
    if not before or max(before) <= 200000:
        pytest.skip("this kernel shows no scheduler slices longer than 200 us to shorten "
                    "(EEVDF custom slices need Linux 6.12)")
    return before


def test_a_thread_that_relayed_a_stream_runs_with_the_short_slice(httpd, gw, live_key, kernel_slices):
    _stream(gw, live_key, 4)
    after = _slices(httpd)
    assert 200000 in after, "no httpd thread asked for a 200 us slice: %s" % sorted(set(after))
    # only the relaying threads: the MPM's other threads keep the kernel's slice
    assert any(s > 200000 for s in after), sorted(set(after))


def test_stream_slice_zero_leaves_the_threads_alone(stack, httpd, live_key, kernel_slices):
    h = Httpd(stack.root / ("httpd-noslice-" + httpd.mpm), httpd.mpm, stack.mariadb.dsn, stack.sim,
              extra_conf="ConduixStreamSlice 0")
    h.start()
    try:
        _stream(Gateway(h), live_key, 4)
        after = _slices(h)
        assert after and 200000 not in after, sorted(set(after))
    finally:
        h.stop()
