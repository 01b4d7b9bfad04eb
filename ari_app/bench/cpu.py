"""CPU time and memory of the processes under test, from ``/proc``.

A process tree's CPU is, for every process still alive in it, user + system time of its own
(``utime``, ``stime``) plus that of its children already waited for (``cutime``, ``cstime``): a
PostgreSQL backend that exited between two samples is counted in the postmaster's ``cutime``,
one still running in its own ``utime``, and none twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    ticks: int  # utime + stime + cutime + cstime, in clock ticks


def parse_stat(text: str) -> ProcStat:
    """One ``/proc/<pid>/stat`` line. The command name (field 2) is in parentheses and may hold
    spaces or parentheses itself, so fields are counted from the last ``)``."""
    head, _, rest = text.rpartition(")")
    pid = int(head.split("(", 1)[0])
    fields = rest.split()  # fields[0] is the state (field 3 of proc(5))
    ppid = int(fields[1])
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])  # fields 14-17
    return ProcStat(pid, ppid, utime + stime + cutime + cstime)


def tree_ticks(root: int, stats: Mapping[int, ProcStat]) -> int:
    """Clock ticks of ``root`` and every live descendant (``stats``: every process by pid)."""
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    total, todo, seen = 0, [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in stats:
            continue
        seen.add(pid)
        total += stats[pid].ticks
        todo.extend(children.get(pid, ()))
    return total


def per_thousand_calls(seconds: float, calls: int) -> float | None:
    """CPU seconds per 1,000 calls, which is also milliseconds per call (None for no calls)."""
    return round(seconds * 1000 / calls, 2) if calls > 0 else None


def parse_vm_hwm(status: str) -> int | None:
    """Peak resident set size in KiB from a ``/proc/<pid>/status`` text."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def parse_cpu_line(text: str) -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs together from ``/proc/stat``: busy is everything but
    idle and iowait."""
    for line in text.splitlines():
        if line.startswith("cpu "):
            values = [int(x) for x in line.split()[1:]]
            total = sum(values[:8])  # user nice system idle iowait irq softirq steal (guest is in user)
            return total - values[3] - values[4], total
    raise ValueError("no cpu line in /proc/stat")


def busy_cores(before: tuple[int, int], after: tuple[int, int], cores: int) -> float:
    """How many cores were busy on average between two ``parse_cpu_line`` samples."""
    busy, total = after[0] - before[0], after[1] - before[1]
    return round(busy / total * cores, 2) if total > 0 else 0.0


def read_all_stats(proc: Path = PROC) -> dict[int, ProcStat]:
    stats: dict[int, ProcStat] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stats[int(entry.name)] = parse_stat((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    return stats


def clock_ticks_per_second() -> int:
    return int(os.sysconf("SC_CLK_TCK"))


def vm_hwm_kib(pid: int) -> int | None:
    try:
        return parse_vm_hwm((PROC / str(pid) / "status").read_text())
    except OSError:
        return None


@dataclass
class CpuMeter:
    """CPU seconds of named process trees since ``start()``. ``roots`` gives each name's root pid
    (None when that process is not running)."""

    roots: Callable[[], Mapping[str, int | None]]
    _before: dict[str, int] | None = None
    _machine: tuple[int, int] = (0, 0)

    def _sample(self) -> dict[str, int]:
        stats = read_all_stats()
        return {name: tree_ticks(pid, stats) if pid else 0 for name, pid in self.roots().items()}

    def start(self) -> None:
        self._machine = parse_cpu_line((PROC / "stat").read_text())
        self._before = self._sample()

    def seconds(self) -> dict[str, float]:
        """Seconds used per name since ``start()``."""
        if self._before is None:
            raise RuntimeError("CpuMeter.start() first")
        after, hz = self._sample(), clock_ticks_per_second()
        return {name: max(0, after[name] - self._before.get(name, 0)) / hz for name in after}

    def machine_busy_cores(self) -> float:
        """Cores busy on average since ``start()``, whoever kept them busy."""
        return busy_cores(self._machine, parse_cpu_line((PROC / "stat").read_text()), os.cpu_count() or 1)
