"""The bench's results folder: ``results.json``, ``table.md`` (the README's table) and ``latency.png``."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path
from typing import Any

from ari_app.bench.hold import hold_line

LABELS = {"stasis": "(a) Stasis app", "queue": "(b) app_queue"}


def _cell(value: object) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def table(results: dict[str, Any]) -> str:
    """Markdown: one row per path and rate, then the ratios and the verdict (a hold run alone: its line)."""
    if not results["steps"] and results.get("hold"):
        return f"- Hold run, Stasis path: {hold_line(results['hold'])}\n"
    head = ("| path | calls/s | attempted | answered | failed | lost | INVITE->200 p50 / p95 / p99 ms "
            "| wait after greeting p50 / p99 ms | StasisStart->holding bridge p50 / p99 ms "
            "| CPU s per 1,000 calls: Asterisk / serve / PostgreSQL "
            "| serve peak RSS MiB | cores busy: load generators / others |")
    lines = [head, "|" + "---|" * 12]
    for s in results["steps"]:
        setup, wait, cpu = s["invite_to_200_ms"], s["queue_wait_ms"], s["cpu_s_per_1000_calls"]
        held = s.get("holding_entry_ms") or {}
        lines.append(
            f"| {LABELS.get(s['path'], s['path'])} | {_cell(s['rate'])} | {s['attempted']} | {s['answered']} "
            f"| {s['failed']} | {s['lost']} | {_cell(setup['p50'])} / {_cell(setup['p95'])} / {_cell(setup['p99'])} "
            f"| {_cell(wait['p50'])} / {_cell(wait['p99'])} "
            f"| {_cell(held.get('p50'))} / {_cell(held.get('p99'))} "
            f"| {_cell(cpu['asterisk'])} / {_cell(cpu['serve'])} / {_cell(cpu['postgres'])} "
            f"| {_cell(s['serve_peak_rss_mib'])} "
            f"| {_cell(s['load_generators_cores'])} / {_cell(s['others_busy_cores'])} |"
        )
    if results["ratios"]:
        lines += ["", "| calls/s | (a)/(b) INVITE->200 p50 / p95 / p99 | (a)/(b) wait after greeting p50 / p99 "
                  "| (a)/(b) CPU per call, all three |", "|---|---|---|---|"]
        for r in results["ratios"]:
            setup, wait = r["invite_to_200_ms"], r["queue_wait_ms"]
            lines.append(f"| {_cell(r['rate'])} "
                         f"| {_cell(setup['p50'])} / {_cell(setup['p95'])} / {_cell(setup['p99'])} "
                         f"| {_cell(wait['p50'])} / {_cell(wait['p99'])} "
                         f"| {_cell(r['cpu_s_per_1000_calls'].get('total'))} |")
    lines.append("")
    for path, rate in results["highest_clean_rate"].items():
        lines.append(f"- Highest clean rate, {LABELS.get(path, path)}: "
                     + (f"{rate:g} calls/s" if rate is not None else "none of the rates tried"))
    for s in results["skipped"]:
        lines.append(f"- Not run: {LABELS.get(s['path'], s['path'])} at {s['rate']:g} calls/s ({s['why']})")
    if results.get("hold"):
        lines.append(f"- Hold run, Stasis path: {hold_line(results['hold'])}")
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], dest: Path) -> bool:
    """INVITE->200 (p50, p99) and CPU per call against the call rate, both paths. False without matplotlib
    or without steps (a hold run alone)."""
    if not results["steps"]:
        return False
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
    except ImportError:
        return False
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    fig, (lat, cpu) = plt.subplots(1, 2, figsize=(12, 4.8))
    colors = {"stasis": "tab:blue", "queue": "tab:orange"}
    for path in results["options"]["paths"]:
        steps = sorted((s for s in results["steps"] if s["path"] == path), key=lambda s: s["rate"])
        if not steps:
            continue
        rates = [s["rate"] for s in steps]
        color, label = colors.get(path, None), LABELS.get(path, path)
        for key, style in (("p50", "--"), ("p99", "-")):
            values = [s["invite_to_200_ms"][key] for s in steps]
            lat.plot(rates, values, style, marker="o", color=color, label=f"{label} {key}")
        cpu.plot(rates, [s["cpu_s_per_1000_calls"]["total"] for s in steps], "-", marker="o", color=color,
                 label=f"{label}: Asterisk + serve + PostgreSQL")
        cpu.plot(rates, [s["cpu_s_per_1000_calls"]["asterisk"] for s in steps], ":", marker=".", color=color,
                 label=f"{label}: Asterisk")
    lat.axhline(200, color="grey", linewidth=0.8)
    lat.set_yscale("log")
    lat.set_xlabel("calls per second")
    lat.set_ylabel("INVITE -> 200 OK (ms, log scale)")
    lat.set_title("Call set-up latency (grey: the 200 ms limit)")
    lat.legend(fontsize=8, loc="best")
    cpu.set_xlabel("calls per second")
    cpu.set_ylabel("CPU ms per call")
    cpu.set_title("CPU per call")
    cpu.legend(fontsize=8, loc="lower right")
    cpu.set_ylim(bottom=0)
    m = results["machine"]
    fig.suptitle(f"scripts/bench: {m['nproc']} cores, {m['cpu_model']}, talk {results['options']['talk_s']:g} s, "
                 f"{results['options']['agents']} agents", fontsize=10)
    fig.tight_layout()
    fig.savefig(dest, dpi=100)
    plt.close(fig)
    return True


def write(results: dict[str, Any], folder: Path, latest: Path | None) -> list[Path]:
    """Write the results into ``folder``; copy them (not the logs) to ``latest`` too."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "results.json", folder / "table.md"]
    written[0].write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written[1].write_text(table(results), encoding="utf-8")
    if plot(results, folder / "latency.png"):
        written.append(folder / "latency.png")
    if latest is not None:
        shutil.rmtree(latest, ignore_errors=True)
        latest.mkdir(parents=True)
        for path in written:
            shutil.copy2(path, latest / path.name)
    return written
