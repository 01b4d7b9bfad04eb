"""A one-screen text summary of a loaded registry, for ``hotline check-config``."""

from __future__ import annotations

import unicodedata

from ari_app.registry.model import AfterCancel, Mode, Registry

MODE_LABELS: dict[Mode, str] = {
    Mode.WHOLE_MERGE_TRANSITION: "整体并入(过渡期后取消)",
    Mode.WHOLE_MERGE_CANCELLED: "整体并入(直接取消)",
    Mode.DUAL_MERGED_SEATS: "双号并行(坐席并入)",
    Mode.DUAL_DEPARTMENT_SEATS: "双号并行(保留坐席)",
    Mode.SUBCENTER: "分中心",
}

KEPT_SEATS = (Mode.DUAL_DEPARTMENT_SEATS, Mode.SUBCENTER)


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def format_summary(registry: Registry) -> str:
    platform = registry.platform
    lines = [
        f"{platform.name} ({platform.number}), {platform.timezone}, {platform.service_hours}",
        f"plan: {platform.plan}; merger deadline {platform.merger_deadline}",
    ]
    if registry.source:
        lines.append(f"file: {registry.source}")
    lines += ["", "lines by mode:"]
    counts = registry.count_by_mode()
    for mode in Mode:
        numbers = " ".join(h.number for h in registry.hotlines.values() if h.mode is mode)
        lines.append(f"  {_pad(MODE_LABELS[mode], 24)}{counts[mode]:>3}  {numbers}")
    lines.append(f"  {_pad('total', 24)}{len(registry.hotlines):>3}")
    lines.append(f"departments: {len(registry.departments)}")
    lines += _transition_lines(registry)
    lines += _seconded_lines(registry)
    for group, members in registry.expert_groups.items():
        names = "、".join(registry.departments[m].name for m in members if m in registry.departments)
        lines.append(f"expert group {group}: {names}")
    lines += _kept_seat_lines(registry)
    if registry.volumes_are_samples:
        lines.append("annual volumes are sample values, not figures from the plan")
    return "\n".join(lines)


def _transition_lines(registry: Registry) -> list[str]:
    merged = [h for h in registry.hotlines.values() if h.transition is not None]
    windows = sorted({(h.transition.start, h.transition.end) for h in merged if h.transition is not None})
    if not windows:
        return []
    spans = ", ".join(f"{start} .. {end}" for start, end in windows)
    hangup = " ".join(h.number for h in merged if h.after_cancel is AfterCancel.HANGUP)
    after = f"; after it: intercept notice, then 12345 intake (hang up instead: {hangup or 'none'})"
    return [f"transition: {spans}{after}"]


def _seconded_lines(registry: Registry) -> list[str]:
    seconded = [h for h in registry.hotlines.values() if h.seconded_staff > 0]
    if not seconded:
        return []
    total = sum(h.seconded_staff for h in seconded)
    departments = len({h.department for h in seconded})
    return [f"seconded staff required by the registry: {total} from {departments} departments"]


def _kept_seat_lines(registry: Registry) -> list[str]:
    kept = [h for h in registry.hotlines.values() if h.mode in KEPT_SEATS]
    if not kept:
        return []
    out = [
        "kept-seat lines (unanswered within the ring time: 12345 intake takes the call):",
        f"  {'number':<8}{'code':<6}{'endpoint':<13}{'ring':<6}department",
    ]
    for hotline in kept:
        department = registry.department_of(hotline)
        line = department.line
        endpoint, code = (line.endpoint, line.short_code) if line else ("-", "-")
        ring = f"{hotline.ring_timeout or registry.department_ring_timeout}s"
        out.append(f"  {hotline.number:<8}{code:<6}{endpoint:<13}{ring:<6}{department.name}")
    return out
