"""The summary table a tester reads and the JUnit XML a CI server reads."""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

from ari_app.scenarios.runner import Result


def progress_line(result: Result, done: int, total: int) -> str:
    why = f"  {result.failures[0]}" if result.failures else ""
    return f"[{done:>{len(str(total))}}/{total}] {result.status} {result.name} ({result.seconds:.1f}s){why}"


def summary_table(results: list[Result], width: int = 120) -> str:
    """scenario | result | time | what failed (its first failure, on one line)."""
    name_width = max([len("scenario"), *(len(r.name) for r in results)])
    lines = [f"{'scenario':<{name_width}}  result  {'time':>6}  what failed", "-" * min(width + name_width + 18, 160)]
    for r in results:
        why = _one_line(r.failures[0]) if r.failures else ""
        more = f" (+{len(r.failures) - 1} more)" if len(r.failures) > 1 else ""
        lines.append(f"{r.name:<{name_width}}  {r.status:<6}  {r.seconds:>5.1f}s  {_clip(why, width)}{more}")
    passed = sum(r.passed for r in results)
    lines.append(f"{passed} passed, {len(results) - passed} failed, {len(results)} scenarios")
    kept = [r for r in results if r.kept]
    lines += [f"SIPp traces of {r.name}: {r.kept}" for r in kept]
    return "\n".join(lines)


def write_junit(results: list[Result], path: Path, target: str) -> None:
    suite = ET.Element("testsuite", name="hotline-scenarios", tests=str(len(results)),
                       failures=str(sum(not r.passed for r in results)), errors="0",
                       time=f"{sum(r.seconds for r in results):.3f}")
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="target", value=target)
    for r in results:
        case = ET.SubElement(suite, "testcase", classname="scenarios", name=r.name, time=f"{r.seconds:.3f}")
        if not r.passed:
            failure = ET.SubElement(case, "failure", message=_one_line(r.failures[0]))
            failure.text = "\n".join(r.failures) + (f"\nSIPp traces: {r.kept}" if r.kept else "")
        ET.SubElement(case, "system-out").text = r.description
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clip(text: str, width: int) -> str:
    """At most ``width`` columns (CJK characters take two)."""
    out, used = "", 0
    for ch in text:
        used += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used > width - 1:
            return out + "…"
        out += ch
    return out
