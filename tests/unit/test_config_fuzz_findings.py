"""Refusals the fuzzing (tests/fuzz) found to escape as other exceptions, each now a clear problem.

- YAML 1.1 calls ``0b_``, ``0x_`` and 5000 digits integers; ``int()`` refuses them (no digit after the
  prefix; past Python's 4300-digit limit): the configcheck reader raised ValueError. Explicit tags
  PyYAML's constructors cannot read (``!!int ''``, ``!!bool x``, ``!!timestamp x``) raised IndexError,
  KeyError and AttributeError.
- ``load_seats`` read with ``read_text``: a file that is not UTF-8 raised UnicodeDecodeError.
- scripts/render-prompts: the same values, impossible dates (2021-02-30) and non-UTF-8 bytes raised
  ValueError (and the others) instead of PromptError.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ari_app.configcheck.problems import ConfigError
from ari_app.registry.loader import load_registry
from ari_app.seats.loader import load_seats
from ari_app.settings import REPO_ROOT

REGISTRY = REPO_ROOT / "config" / "hotlines.yaml"
SEATS = REPO_ROOT / "config" / "seats.yaml"
PROMPTS = REPO_ROOT / "sounds" / "prompts.yaml"
UNREADABLE_INTEGERS = ["0b_", "0x_", "-0b_", "9" * 5000]


def render_prompts() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("render_prompts", str(REPO_ROOT / "scripts" / "render-prompts"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(loader.name, module)  # dataclasses look their module up here
    loader.exec_module(sys.modules[loader.name])
    return sys.modules[loader.name]


def _line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize("value", UNREADABLE_INTEGERS, ids=lambda v: v[:8])
def test_registry_integer_python_cannot_read_is_a_problem_at_its_line(value: str, tmp_path: Path) -> None:
    text = REGISTRY.read_text(encoding="utf-8")
    path = tmp_path / "hotlines.yaml"
    path.write_text(text.replace("annual_volume: ", f"annual_volume: {value} #", 1), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_registry(path)
    [problem] = refused.value.problems
    assert problem.line == _line_of(text, "annual_volume:")
    assert problem.path.endswith(".annual_volume")
    assert "expected an integer" in problem.message and len(problem.message) < 200


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("annual_volume", "!!int ''", "expected an integer, got ''"),
        ("annual_volume", "!!int x", "expected an integer, got 'x'"),
        ("merger_deadline", "!!timestamp x", "not a valid date (YYYY-MM-DD): 'x'"),
        ("merger_deadline", "!!timestamp 2021-02-30", "not a valid date (YYYY-MM-DD): '2021-02-30'"),
        ("volumes_are_samples", "!!bool x", "expected true or false, got 'x'"),
    ],
)
def test_registry_explicit_tag_pyyaml_cannot_read_is_a_problem_at_its_line(
    key: str, value: str, message: str, tmp_path: Path
) -> None:
    text = REGISTRY.read_text(encoding="utf-8")
    path = tmp_path / "hotlines.yaml"
    path.write_text(text.replace(f"{key}: ", f"{key}: {value} #", 1), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_registry(path)
    [problem] = refused.value.problems
    assert (problem.line, problem.path.split(".")[-1]) == (_line_of(text, f"{key}:"), key)
    assert problem.message.startswith(message)


@pytest.mark.parametrize("value", UNREADABLE_INTEGERS, ids=lambda v: v[:8])
def test_seats_integer_python_cannot_read_is_a_problem_at_its_line(value: str, tmp_path: Path) -> None:
    text = SEATS.read_text(encoding="utf-8")
    path = tmp_path / "seats.yaml"
    path.write_text(text.replace("ring_timeout: ", f"ring_timeout: {value} #", 1), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_seats(path)
    [problem] = refused.value.problems
    assert (problem.line, problem.path) == (_line_of(text, "ring_timeout:"), "queue.ring_timeout")


def test_seats_file_not_utf8_is_a_problem_at_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    text = SEATS.read_text(encoding="utf-8")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if not t.isascii())
    path = tmp_path / "seats.yaml"
    path.write_bytes(text.encode("gbk"))
    with pytest.raises(ConfigError) as refused:
        load_seats(path)
    [problem] = refused.value.problems
    assert problem.line == line
    assert str(problem).startswith(f"{path}:{line}: <document>: not UTF-8 text")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("\nprompts:\n", "\nprompts:\n  x-bad-speed: {text: 好, speed: 0b_}\n"),
        ("\nprompts:\n", "\nprompts:\n  x-bad-speed: {text: 好, speed: " + "9" * 5000 + "}\n"),
        ("\nprompts:\n", "\nwhen: 2021-02-30\nprompts:\n"),
        ("\nprompts:\n", "\nwhen: !!timestamp x\nprompts:\n"),
        ("\nprompts:\n", "\nwhen: !!bool x\nprompts:\n"),
        ("\nprompts:\n", "\nwhen: !!int ''\nprompts:\n"),
    ],
    ids=["0b_", "5000-digits", "2021-02-30", "timestamp-x", "bool-x", "int-empty"],
)
def test_prompts_value_yaml_cannot_convert_is_a_prompt_error(old: str, new: str, tmp_path: Path) -> None:
    module = render_prompts()
    path = tmp_path / "prompts.yaml"
    text = PROMPTS.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(module.PromptError, match=f"cannot read {path}: "):
        module.load_prompt_file(path)


def test_prompts_file_not_utf8_is_a_prompt_error(tmp_path: Path) -> None:
    module = render_prompts()
    path = tmp_path / "prompts.yaml"
    path.write_bytes(PROMPTS.read_text(encoding="utf-8").encode("gbk"))
    with pytest.raises(module.PromptError, match=f"cannot read {path}: UnicodeDecodeError: 'utf-8' codec can't decode"):
        module.load_prompt_file(path)
