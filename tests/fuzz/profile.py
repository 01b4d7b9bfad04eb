"""How many cases each fuzz target runs, and what each target did.

``HOTLINE_FUZZ_CASES`` unset: the CI count of each target (a few hundred, derandomized so a CI
run is repeatable). Set (``scripts/fuzz`` sets it): that many cases per target, random.
``HOTLINE_FUZZ_REPORT``: a JSON file to write the per-target figures to at the end of the session.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from hypothesis import HealthCheck, settings

CASES_ENV = "HOTLINE_FUZZ_CASES"
REPORT_ENV = "HOTLINE_FUZZ_REPORT"
HANG_SECONDS = 10.0  # a loader case slower than this counts as a hang


def long_run() -> bool:
    return bool(os.environ.get(CASES_ENV, "").strip())


def case_count(ci_cases: int) -> int:
    return int(os.environ[CASES_ENV]) if long_run() else ci_cases


def fuzz_settings(ci_cases: int) -> settings:
    """The hypothesis settings of one target: its CI count, or HOTLINE_FUZZ_CASES in the long run."""
    return settings(
        max_examples=case_count(ci_cases),
        deadline=None,  # wall-clock bounds are the tests' own (HANG_SECONDS, connection deadlines)
        derandomize=not long_run(),
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def target_timeout(ci_cases: int, seconds_per_case: float) -> float:
    """pytest-timeout for a whole target: room for every case at a generous per-case cost."""
    return 120 + case_count(ci_cases) * seconds_per_case


@dataclass
class Target:
    name: str
    cases: int = 0
    failures: int = 0
    slowest_seconds: float = 0.0
    slowest_case: str = ""
    total_seconds: float = 0.0


TARGETS: dict[str, Target] = {}


@contextmanager
def case(target: str, describe: str) -> Iterator[None]:
    """Count one case of ``target``, its time, and whether it failed."""
    record = TARGETS.setdefault(target, Target(target))
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        record.failures += 1
        raise
    finally:
        elapsed = time.perf_counter() - started
        record.cases += 1
        record.total_seconds += elapsed
        if elapsed > record.slowest_seconds:
            record.slowest_seconds = elapsed
            record.slowest_case = describe[:200]


def summary_lines() -> list[str]:
    lines = [f"{'target':<22} {'cases':>7} {'crashes':>8} {'slowest s':>10} {'total s':>8}"]
    for t in TARGETS.values():
        lines.append(f"{t.name:<22} {t.cases:>7} {t.failures:>8} {t.slowest_seconds:>10.3f} {t.total_seconds:>8.1f}")
    return lines


def write_report(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    report = {"cases_per_target": case_count(0) if long_run() else None,
              "targets": [asdict(t) for t in TARGETS.values()]}
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
