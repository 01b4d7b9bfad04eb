"""Every prompt has a playable 8 kHz mono 16-bit WAV in sounds/zh.

The prompts are the static ones in sounds/prompts.yaml and, for every
whole_merge_transition line in config/hotlines.yaml, merged-<number> and
intercept-<number> (rendered by scripts/render-prompts from the templates).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import math
import sys
import wave
from array import array
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROMPTS_FILE = ROOT / "sounds" / "prompts.yaml"
REGISTRY_FILE = ROOT / "config" / "hotlines.yaml"
SCRIPT = ROOT / "scripts" / "render-prompts"
SOUNDS_DIR = ROOT / "sounds" / "zh"
MANIFEST = SOUNDS_DIR / ".texts.json"
MIN_RMS = 100.0  # of 32767 full scale, about -50 dBFS
STATIC_PROMPTS = {
    "greeting",
    "goodbye",
    "unknown-number",
    "please-hold",
    "degraded",
    "transfer-to-intake",
    "expert-seat",
}


def load_script() -> ModuleType:
    """Import scripts/render-prompts (no .py extension) as a module."""
    loader = importlib.machinery.SourceFileLoader("render_prompts", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses look their module up here
    loader.exec_module(module)
    return module


render_prompts = load_script()


def load_static_ids() -> list[str]:
    data = yaml.safe_load(PROMPTS_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{PROMPTS_FILE} must be a mapping"
    prompts = data.get("prompts")
    assert isinstance(prompts, dict) and prompts, f"{PROMPTS_FILE} needs a non-empty 'prompts:' mapping"
    return [str(key) for key in prompts]


def load_transition_lines() -> list[dict[str, Any]]:
    """The whole_merge_transition entries of the registry, read independently of the script."""
    data = yaml.safe_load(REGISTRY_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict) and isinstance(data.get("hotlines"), list), f"{REGISTRY_FILE}: no 'hotlines:' list"
    return [line for line in data["hotlines"] if line.get("mode") == "whole_merge_transition"]


def load_manifest() -> dict[str, Any]:
    assert MANIFEST.is_file(), f"missing {MANIFEST}; run scripts/render-prompts"
    data = json.loads(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


STATIC_IDS = load_static_ids()
TRANSITION_LINES = load_transition_lines()
TRANSITION_NUMBERS = [str(line["number"]) for line in TRANSITION_LINES]
GENERATED_IDS = [f"{kind}-{number}" for number in TRANSITION_NUMBERS for kind in ("merged", "intercept")]


def test_required_prompts_are_defined() -> None:
    assert set(STATIC_IDS) >= STATIC_PROMPTS


def test_registry_has_transition_lines() -> None:
    assert TRANSITION_NUMBERS, f"{REGISTRY_FILE} has no whole_merge_transition line"
    assert len(set(TRANSITION_NUMBERS)) == len(TRANSITION_NUMBERS)


@pytest.mark.parametrize("prompt_id", STATIC_IDS + GENERATED_IDS)
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


@pytest.mark.parametrize("line", TRANSITION_LINES, ids=TRANSITION_NUMBERS)
def test_generated_texts(line: dict[str, Any]) -> None:
    manifest = load_manifest()
    number = str(line["number"])
    digits = render_prompts.digits_to_words(number)
    merged = manifest[f"merged-{number}"]["text"]
    intercept = manifest[f"intercept-{number}"]["text"]
    assert digits in merged and render_prompts.spoken_name(line["name"]) in merged
    assert digits in intercept
    assert ("挂机" in intercept) == (line["after_cancel"] == "hangup"), intercept
    assert not any(char.isascii() and char.isdigit() for char in merged + intercept)


def test_render_check_passes() -> None:
    """Every WAV is rendered from the current text, and no WAV is stale."""
    assert render_prompts.main(["--check", "--registry", str(REGISTRY_FILE)]) == 0


@pytest.mark.parametrize(
    ("number", "words"),
    [
        ("12349", "幺二三四九"),
        ("12345", "幺二三四五"),
        ("0123456789", "零幺二三四五六七八九"),
        ("110", "幺幺零"),
    ],
)
def test_digits_to_words(number: str, words: str) -> None:
    assert render_prompts.digits_to_words(number) == words


@pytest.mark.parametrize("bad", ["", "123a", "12 34", "１２３", "-1"])
def test_digits_to_words_rejects_non_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        render_prompts.digits_to_words(bad)


def test_prompts_from_registry(tmp_path: Path) -> None:
    registry = tmp_path / "hotlines.yaml"
    registry.write_text(
        """
hotlines:
  - {number: "12349", name: 全国统一民政服务电话, mode: whole_merge_transition, after_cancel: intake}
  - {number: "12358", name: 价格监督举报电话, mode: whole_merge_transition, after_cancel: hangup}
  - {number: "12315", name: 市场监管投诉举报热线, mode: subcenter}
""",
        encoding="utf-8",
    )
    prompts = render_prompts.load_prompts(PROMPTS_FILE, registry)
    generated = {pid: prompt.text for pid, prompt in prompts.items() if pid not in STATIC_IDS}
    assert set(generated) == {"merged-12349", "intercept-12349", "merged-12358", "intercept-12358"}
    assert "全国统一民政服务电话" in generated["merged-12349"] and "幺二三四九" in generated["merged-12349"]
    assert "挂机" not in generated["intercept-12349"]
    assert "挂机" in generated["intercept-12358"] and "幺二三五八" in generated["intercept-12358"]


@pytest.mark.parametrize(
    "entry",
    [
        "{number: 12349, name: 民政, mode: whole_merge_transition, after_cancel: intake}",
        '{number: "12349", name: 民政, mode: whole_merge_transition}',
        '{number: "12349", name: 民政, mode: merged}',
    ],
)
def test_bad_registry_is_rejected(tmp_path: Path, entry: str) -> None:
    registry = tmp_path / "hotlines.yaml"
    registry.write_text(f"hotlines:\n  - {entry}\n", encoding="utf-8")
    with pytest.raises(render_prompts.PromptError):
        render_prompts.load_prompts(PROMPTS_FILE, registry)
