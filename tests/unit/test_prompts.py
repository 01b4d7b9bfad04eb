"""Every prompt in sounds/prompts.yaml has a playable 8 kHz mono 16-bit WAV in sounds/zh."""

from __future__ import annotations

import math
import sys
import wave
from array import array
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMPTS_FILE = ROOT / "sounds" / "prompts.yaml"
SOUNDS_DIR = ROOT / "sounds" / "zh"
MIN_RMS = 100.0  # of 32767 full scale, about -50 dBFS


def load_prompt_ids() -> list[str]:
    data = yaml.safe_load(PROMPTS_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and data, f"{PROMPTS_FILE} must be a non-empty mapping"
    return [str(key) for key in data]


PROMPT_IDS = load_prompt_ids()


def test_required_prompts_are_defined() -> None:
    required = {"greeting", "goodbye", "unknown-number", "please-hold", "degraded"}
    assert required <= set(PROMPT_IDS)


@pytest.mark.parametrize("prompt_id", PROMPT_IDS)
def test_prompt_wav(prompt_id: str) -> None:
    path = SOUNDS_DIR / f"{prompt_id}.wav"
    assert path.is_file(), f"missing {path}; run scripts/render-prompts"

    with wave.open(str(path), "rb") as wav:
        assert wav.getframerate() == 8000
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        frames = wav.getnframes()
        data = wav.readframes(frames)

    duration = frames / 8000
    assert 0.5 <= duration <= 20, f"{path.name}: duration {duration:.2f} s"

    samples = array("h")
    samples.frombytes(data)
    if sys.byteorder == "big":  # WAV samples are little-endian
        samples.byteswap()
    rms = math.sqrt(sum(s * s for s in samples) / len(samples))
    assert rms > MIN_RMS, f"{path.name}: RMS {rms:.1f} looks silent"
