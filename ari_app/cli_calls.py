"""``hotline calls``: the latest call records, as a table (with each call's events under it when
``--events``) or as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


def format_calls(records: Sequence[dict[str, Any]], events: bool) -> str:
    """The table ``hotline calls`` prints; with ``events``, each call's events indented under its row."""
    if not records:
        return "no calls recorded"
    lines = [f"{'started':<26} {'hotline':<9} {'caller':<14} {'route':<10} {'outcome':<24} call_id"]
    for r in records:
        lines.append(
            f"{str(r['started_at'])[:26]:<26} {r['hotline']!s:<9} {r['caller']!s:<14} {r['route']!s:<10} "
            f"{r['outcome'] or 'in progress'!s:<24} {r['call_id']}{' (degraded)' if r.get('degraded') else ''}"
        )
        if events:
            happened = r.get("events") or []
            lines += [f"    {e['at'][11:23]:<12} {e['kind']:<28} {_detail(e.get('detail'))}".rstrip()
                      for e in happened]
            if not happened:
                lines.append("    (no events)")
    return "\n".join(lines)


def _detail(detail: object) -> str:
    if not detail:
        return ""
    if isinstance(detail, dict):
        return " ".join(f"{k}={v}" for k, v in detail.items())
    return json.dumps(detail, ensure_ascii=False)
