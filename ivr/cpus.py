"""How many CPUs this process may really use: its affinity mask and its cgroup's CPU quota, not the host's."""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def parse_cpu_max(text: str) -> float | None:
    """The CPUs a cgroup v2 `cpu.max` grants ("150000 100000" = 1.5, "max 100000" = None: no limit)."""
    parts = text.split()
    if len(parts) not in (1, 2) or parts[0] == "max":
        return None
    try:
        quota, period = int(parts[0]), int(parts[1]) if len(parts) == 2 else 100000
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def cgroup_quota(root: Path = CGROUP, proc_cgroup: Path = PROC_CGROUP) -> float | None:
    """The tightest CPU quota of this process's cgroup and its ancestors (v2, else v1); None = unlimited."""
    root = root.resolve()
    lines = _text(proc_cgroup).splitlines()
    # cgroup v2: "0::/path" in /proc/self/cgroup ("0::/" inside a container with its own cgroup namespace)
    path = next((line[3:] for line in lines if line.startswith("0::")), "/")
    here = (root / path.lstrip("/")).resolve()
    found = [
        quota
        for folder in (here, *here.parents)
        if folder == root or root in folder.parents
        if (quota := parse_cpu_max(_text(folder / "cpu.max"))) is not None
    ]
    if not found:  # cgroup v1, as a container sees it: the CFS quota (-1 = none) and period, in µs
        quota_us, period_us = (
            _text(root / "cpu" / "cpu.cfs_quota_us"),
            _text(root / "cpu" / "cpu.cfs_period_us"),
        )
        v1 = parse_cpu_max(f"{quota_us} {period_us}") if quota_us and period_us else None
        found += [v1] if v1 is not None else []
    return min(found, default=None)


def usable_cpus(affinity: int | None = None, quota: float | None = None, *, read_quota: bool = True) -> int:
    """Whole CPUs this process may use: its affinity mask capped by the cgroup quota (rounded up); ≥ 1."""
    if affinity is None:
        affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if quota is None and read_quota:
        quota = cgroup_quota()
    return max(1, min(affinity, math.ceil(quota) if quota else affinity))


def _text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""
