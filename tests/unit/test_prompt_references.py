"""Every prompt the dialplan or the app can play is defined (in sounds/prompts.yaml, or generated from
its templates for a registry line by scripts/render-prompts) and exists under sounds/zh as 8 kHz
mono 16-bit audio.

The prompts come in families, each gathered from where it is played:

* dialplan: literal names in Playback()/Background() and in ``Set(HOTLINE_..._PROMPT=...)`` of
  dialplan/*.conf and of the rendered per-number dialplan;
* flows: literal prompt ids in ari_app/flows/*.py (the queue announcements), and the greeting;
* numbers: every id ``number_prompts(n)`` gives for the counts 0..99;
* agent: the confirmations of the agents' feature codes (agi/routes.py) and their error prompt;
* registry: merged-<number> and intercept-<number> for every line in its transition, and whatever
  the routing decision asks for on any number, during and after the transition.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import re
import sys
import wave
from datetime import date
from functools import cache
from types import ModuleType

import pytest

from agi.routes import FEATURE_CODES
from ari_app.flows.common import GREETING
from ari_app.flows.intake import number_prompts
from ari_app.registry.loader import load_registry
from ari_app.registry.model import Mode, Registry
from ari_app.registry.render import render_numbers
from ari_app.registry.routing import decide, intercept_prompt, merged_prompt
from ari_app.settings import REPO_ROOT

SOUNDS = REPO_ROOT / "sounds" / "zh"
FLOWS = REPO_ROOT / "ari_app" / "flows"
RENDER_SCRIPT = REPO_ROOT / "scripts" / "render-prompts"
# Literal prompt names in dialplan applications and in HOTLINE_PROMPT / HOTLINE_FEATURE_PROMPT assignments.
_PLAYBACK = re.compile(r"\b(?:Playback|Background)\(([a-z0-9-]+)\)")
_SET_PROMPT = re.compile(r"Set\(HOTLINE_(?:[A-Z]+_)*PROMPT=([a-z0-9-]+)\)")
# A prompt id in Python source: lower-case words joined by hyphens (queue-ahead, num-10).
_PROMPT_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$")
_PLAYERS = {"play", "play_prompt"}  # ari_app.flows.common: the media they are given are prompt ids
AGENT_ERROR_PROMPT = "agent-feature-error"


@cache
def registry() -> Registry:
    return load_registry(REPO_ROOT / "config" / "hotlines.yaml")


def dialplan_prompts() -> set[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted((REPO_ROOT / "dialplan").glob("*.conf"))]
    texts.append(render_numbers(registry()))
    return {m for text in texts for pattern in (_PLAYBACK, _SET_PROMPT) for m in pattern.findall(text)}


def _called_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def flow_prompts() -> set[str]:
    """String literals of ari_app/flows/*.py that are prompt ids: hyphenated ids anywhere, and any
    literal handed to play()/play_prompt() directly."""
    found: set[str] = set()
    for path in sorted(FLOWS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _PROMPT_ID.match(node.value):
                found.add(node.value)
            if isinstance(node, ast.Call) and _called_name(node) in _PLAYERS:
                found |= {
                    n.value for arg in node.args for n in ast.walk(arg)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str) and re.fullmatch(r"[a-z0-9-]+", n.value)
                }
    return found | {GREETING}


def number_word_prompts() -> set[str]:
    return {p for n in range(100) for p in number_prompts(n)}


def agent_prompts() -> set[str]:
    return {prompt for _, prompt in FEATURE_CODES.values()} | {AGENT_ERROR_PROMPT}


def registry_prompts() -> set[str]:
    reg = registry()
    per_line = {
        prompt(line.number)
        for line in reg.hotlines.values() if line.mode is Mode.WHOLE_MERGE_TRANSITION
        for prompt in (merged_prompt, intercept_prompt)
    }
    days = [date(2021, 10, 1), date(2030, 1, 1)]  # inside and after the transition
    numbers = [reg.platform.number, *reg.hotlines, "99999"]
    decided = {d.prompt for n in numbers for day in days if (d := decide(reg, n, day)).prompt}
    return per_line | decided


FAMILIES = {
    "dialplan": dialplan_prompts,
    "flows": flow_prompts,
    "numbers": number_word_prompts,
    "agent": agent_prompts,
    "registry": registry_prompts,
}


def referenced_prompts() -> set[str]:
    return set().union(*(gather() for gather in FAMILIES.values()))


def _render_prompts() -> ModuleType:
    """scripts/render-prompts (no .py extension) as a module; shared with test_prompts if loaded there."""
    loaded = sys.modules.get("render_prompts")
    if loaded is not None:
        return loaded
    loader = importlib.machinery.SourceFileLoader("render_prompts", str(RENDER_SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses look their module up here
    loader.exec_module(module)
    return module


@cache
def defined_prompts() -> frozenset[str]:
    """What scripts/render-prompts renders: the ids of sounds/prompts.yaml and the per-line ids it
    generates from the templates."""
    return frozenset(_render_prompts().load_prompts())


# --- the scans see what they must ------------------------------------------------------------------


def test_referenced_prompts_are_found() -> None:
    names = referenced_prompts()
    # The scan must see the dialplan's own prompts and the registry's per-number ones.
    assert {"unknown-number", "degraded", "transfer-to-intake", "greeting", "merged-12349", "intercept-12317"} <= names


def test_dialplan_scan_sees_literal_prompts_and_prompt_variables() -> None:
    assert {"unknown-number", "degraded", "transfer-to-intake", AGENT_ERROR_PROMPT} <= dialplan_prompts()


def test_flow_scan_sees_the_queue_announcements() -> None:
    queue = {p for p in flow_prompts() if p.startswith("queue-")}
    assert {"queue-ahead", "queue-callers", "queue-wait", "queue-minutes", "queue-next"} <= queue
    assert GREETING in flow_prompts()


def test_counts_0_to_99_need_eleven_number_words() -> None:
    assert number_word_prompts() == {f"num-{n}" for n in range(11)}
    assert number_prompts(0) == ["num-0"] and number_prompts(2) == ["num-2"]
    assert number_prompts(12) == ["num-10", "num-2"] and number_prompts(20) == ["num-2", "num-10"]
    assert number_prompts(35) == ["num-3", "num-10", "num-5"] and number_prompts(100) == number_prompts(99)


def test_agent_family_has_every_feature_code_confirmation() -> None:
    assert {"agent-logged-in", "agent-logged-out", "agent-paused", "agent-ready", AGENT_ERROR_PROMPT} <= agent_prompts()
    assert all(p.startswith("agent-") for p in agent_prompts())


def test_registry_family_has_both_prompts_of_every_line_in_transition() -> None:
    lines = [n for n, line in registry().hotlines.items() if line.mode is Mode.WHOLE_MERGE_TRANSITION]
    assert lines, "the registry has no line in its transition"
    prompts = registry_prompts()
    assert all(f"merged-{n}" in prompts and f"intercept-{n}" in prompts for n in lines)
    assert "unknown-number" in prompts


# --- every referenced prompt is defined and rendered ----------------------------------------------


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_prompt_of_the_family_is_defined(family: str) -> None:
    prompts = FAMILIES[family]()
    assert prompts, f"no {family} prompt found: the scan is broken"
    missing = sorted(prompts - defined_prompts())
    assert not missing, f"{family} prompts in neither sounds/prompts.yaml nor its templates: {missing}"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_prompt_of_the_family_is_valid_audio(family: str) -> None:
    problems = []
    for name in sorted(FAMILIES[family]()):
        path = SOUNDS / f"{name}.wav"
        if not path.exists():
            problems.append(f"{name}: missing {path}")
            continue
        with wave.open(str(path)) as w:
            if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (8000, 1, 2):
                problems.append(f"{name}: {w.getframerate()} Hz, {w.getnchannels()} ch, {8 * w.getsampwidth()} bit")
            elif w.getnframes() < 4000:
                problems.append(f"{name}: shorter than 0.5 s")
    assert not problems, problems
