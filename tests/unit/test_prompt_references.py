"""Every prompt the dialplan or the app can play exists under sounds/zh as 8 kHz mono 16-bit audio."""

from __future__ import annotations

import re
import wave
from datetime import date

from ari_app.flows.common import GREETING
from ari_app.registry.loader import load_registry
from ari_app.registry.render import render_numbers
from ari_app.registry.routing import decide
from ari_app.settings import REPO_ROOT

SOUNDS = REPO_ROOT / "sounds" / "zh"
# Literal prompt names in dialplan applications and in HOTLINE_PROMPT assignments.
_PLAYBACK = re.compile(r"\b(?:Playback|Background)\(([a-z0-9-]+)\)")
_SET_PROMPT = re.compile(r"Set\(HOTLINE_PROMPT=([a-z0-9-]+)\)")


def referenced_prompts() -> set[str]:
    registry = load_registry(REPO_ROOT / "config" / "hotlines.yaml")
    texts = [p.read_text(encoding="utf-8") for p in (REPO_ROOT / "dialplan").glob("*.conf")]
    texts.append(render_numbers(registry))
    names = {m for text in texts for pattern in (_PLAYBACK, _SET_PROMPT) for m in pattern.findall(text)}
    names.add(GREETING)
    days = [date(2021, 10, 1), date(2030, 1, 1)]  # inside and after the transition
    numbers = [registry.platform.number, *registry.hotlines, "99999"]
    names |= {d.prompt for n in numbers for day in days if (d := decide(registry, n, day)).prompt}
    return names


def test_referenced_prompts_are_found() -> None:
    names = referenced_prompts()
    # The scan must see the dialplan's own prompts and the registry's per-number ones.
    assert {"unknown-number", "degraded", "transfer-to-intake", "greeting", "merged-12349", "intercept-12317"} <= names


def test_every_referenced_prompt_is_valid_audio() -> None:
    problems = []
    for name in sorted(referenced_prompts()):
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
