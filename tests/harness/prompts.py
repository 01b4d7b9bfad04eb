"""How long the project's prompts play, for callers that must hang up at a given point of a call."""

from __future__ import annotations

import wave

from ari_app.settings import REPO_ROOT


def prompt_seconds(prompt: str) -> float:
    """The length of ``sounds/zh/<prompt>.wav`` in seconds."""
    with wave.open(str(REPO_ROOT / "sounds" / "zh" / f"{prompt}.wav")) as w:
        return w.getnframes() / w.getframerate()


def past_prompts_ms(*prompts: str, then_s: float) -> int:
    """Milliseconds from the answer to ``then_s`` seconds after ``prompts`` played one after another."""
    return int((sum(prompt_seconds(p) for p in prompts) + then_s) * 1000)
