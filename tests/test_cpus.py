"""Worker count: the CPUs the process may use (affinity, cgroup v2/v1 quota), from sample cgroup files."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest

from ivr.cpus import cgroup_quota, parse_cpu_max, usable_cpus

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("text", "cpus"),
    [
        ("max 100000\n", None),  # no limit (docker run without --cpus)
        ("200000 100000\n", 2.0),  # --cpus=2
        ("150000 100000\n", 1.5),
        ("50000 100000\n", 0.5),  # Kubernetes limits: cpu: 500m
        ("100000 50000\n", 2.0),
        ("max\n", None),  # period left out
        ("100000\n", 1.0),
        ("", None),  # no such file
        ("garbage here\n", None),
        ("0 100000\n", None),
        ("-1 100000\n", None),  # cgroup v1 cfs_quota_us -1: no limit
        ("1 2 3\n", None),
    ],
)
def test_parse_cpu_max(text: str, cpus: float | None) -> None:
    assert parse_cpu_max(text) == cpus


def fake_cgroup(tmp_path: Path, proc: str, files: dict[str, str]) -> tuple[Path, Path]:
    """A /sys/fs/cgroup tree and a /proc/self/cgroup under tmp_path."""
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    root.mkdir(exist_ok=True)
    (tmp_path / "proc_cgroup").write_text(proc)
    return root, tmp_path / "proc_cgroup"


def test_a_container_with_its_own_cgroup_namespace(tmp_path: Path) -> None:
    assert cgroup_quota(*fake_cgroup(tmp_path, "0::/\n", {"cpu.max": "150000 100000\n"})) == 1.5


def test_the_tightest_of_the_cgroup_and_its_ancestors(tmp_path: Path) -> None:
    files = {
        "cpu.max": "max 100000\n",
        "kubepods.slice/cpu.max": "400000 100000\n",
        "kubepods.slice/pod1/cpu.max": "100000 100000\n",
        "kubepods.slice/pod1/web/cpu.max": "max 100000\n",
        "other/cpu.max": "10000 100000\n",  # a sibling's limit is not ours
    }
    proc = "0::/kubepods.slice/pod1/web\n"
    assert cgroup_quota(*fake_cgroup(tmp_path, proc, files)) == 1.0


def test_no_limit_anywhere(tmp_path: Path) -> None:
    assert cgroup_quota(*fake_cgroup(tmp_path, "0::/\n", {"cpu.max": "max 100000\n"})) is None
    assert cgroup_quota(tmp_path / "nothing", tmp_path / "no_proc") is None


def test_cgroup_v1(tmp_path: Path) -> None:
    proc = "12:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n"
    v1 = {"cpu/cpu.cfs_quota_us": "250000\n", "cpu/cpu.cfs_period_us": "100000\n"}
    assert cgroup_quota(*fake_cgroup(tmp_path, proc, v1)) == 2.5
    unlimited = {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}
    assert cgroup_quota(*fake_cgroup(tmp_path / "u", proc, unlimited)) is None


@pytest.mark.parametrize(
    ("affinity", "quota", "cpus"),
    [(8, None, 8), (8, 2.0, 2), (8, 1.5, 2), (8, 0.5, 1), (2, 16.0, 2), (1, None, 1)],
)
def test_usable_cpus(affinity: int, quota: float | None, cpus: int) -> None:
    assert usable_cpus(affinity, quota, read_quota=False) == cpus


def test_this_machine_and_serve_agree() -> None:
    here = usable_cpus()
    assert 1 <= here <= len(os.sched_getaffinity(0))
    settings = runpy.run_path(str(ROOT / "serve.py"))["settings"]()  # serve.py loads ivr/cpus.py by path
    assert settings["workers"] == int(os.environ.get("WEB_CONCURRENCY", max(2, here)))
