"""Fuzzing the YAML loaders with mutations of the shipped files.

Property of every case: the loader returns its model, or refuses with the project's own error,
whose message names the file and (for the configcheck loaders) a line of it. Any other exception
type, an empty refusal or a case slower than HANG_SECONDS fails the target.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings

from ari_app.configcheck.problems import ConfigError
from ari_app.knowledge.seed import load_knowledge
from ari_app.registry.loader import load_registry, parse_registry
from ari_app.registry.model import Registry
from ari_app.seats.loader import load_seats
from ari_app.seats.model import Seats
from ari_app.settings import REPO_ROOT
from ari_app.visits.policy import VisitPolicy, load_visit_policy
from ari_app.workorders.calendar import WorkCalendar, load_calendar
from ari_app.workorders.deadlines import Limits, load_limits
from tests.fuzz.mutations import mutated_bytes, mutated_text
from tests.fuzz.profile import HANG_SECONDS, case, fuzz_settings, target_timeout

CI_CASES = 200
REGISTRY_FILE = REPO_ROOT / "config" / "hotlines.yaml"


def _render_prompts() -> ModuleType:
    """scripts/render-prompts (no .py extension) as a module."""
    loader = importlib.machinery.SourceFileLoader("render_prompts", str(REPO_ROOT / "scripts" / "render-prompts"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(loader.name, module)  # dataclasses look their module up here
    loader.exec_module(sys.modules[loader.name])
    return sys.modules[loader.name]


render_prompts = _render_prompts()
SHIPPED_REGISTRY = load_registry(REGISTRY_FILE)


@dataclass(frozen=True)
class Loader:
    name: str
    shipped: Path
    load: Callable[[Path], object]
    model: type | tuple[type, ...]
    refusal: type[Exception]
    with_line: bool  # whether a refusal names a line (the configcheck loaders do; render-prompts names a field)


LOADERS = (
    Loader("registry", REGISTRY_FILE, load_registry, Registry, ConfigError, True),
    Loader("seats", REPO_ROOT / "config" / "seats.yaml", load_seats, Seats, ConfigError, True),
    Loader("prompts", REPO_ROOT / "sounds" / "prompts.yaml", lambda p: render_prompts.load_prompts(p, REGISTRY_FILE),
           dict, render_prompts.PromptError, False),
    Loader("calendar", REPO_ROOT / "config" / "calendar.yaml", load_calendar, WorkCalendar, ConfigError, True),
    Loader("workorders", REPO_ROOT / "config" / "workorders.yaml", load_limits, Limits, ConfigError, True),
    Loader("return_visits", REPO_ROOT / "config" / "return_visits.yaml", load_visit_policy, VisitPolicy,
           ConfigError, True),
    Loader("knowledge", REPO_ROOT / "config" / "knowledge.yaml", lambda p: load_knowledge(p, SHIPPED_REGISTRY),
           tuple, ConfigError, True),
)


def check_refusal(loader: Loader, exc: Exception, path: Path, data: bytes) -> None:
    """A refusal says which file and, for the configcheck loaders, which line of it; never nothing."""
    message = str(exc)
    assert message.strip(), f"{loader.name}: an empty refusal"
    assert str(path) in message, f"{loader.name}: the refusal does not name the file: {message[:300]!r}"
    if isinstance(exc, ConfigError):
        assert exc.problems, f"{loader.name}: ConfigError without a problem"
        # YAML also breaks lines at \r, NEL, U+2028 and U+2029; splitlines() counts those and a few more
        last_line = max(data.count(b"\n"), len(data.decode("utf-8", errors="replace").splitlines())) + 1
        for problem in exc.problems:
            assert problem.file == str(path)
            assert 1 <= problem.line <= last_line, f"{loader.name}: line {problem.line} not in the file: {problem}"
            assert problem.message.strip() and problem.path.strip(), f"{loader.name}: a problem says nothing: {problem}"
            assert str(problem).startswith(f"{path}:{problem.line}: ")


def describe(original: bytes, data: bytes) -> str:
    """Where a mutated file first differs from the shipped one, and the bytes around it."""
    shorter = min(len(original), len(data))
    at = next((i for i, (a, b) in enumerate(zip(original, data, strict=False)) if a != b), shorter)
    return f"{len(data)} bytes, first change at byte {at}: {data[max(at - 20, 0):at + 60]!r}"


def run_case(loader: Loader, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    started = time.monotonic()
    try:
        result = loader.load(path)
    except loader.refusal as exc:
        check_refusal(loader, exc, path, data)
    else:
        assert isinstance(result, loader.model), f"{loader.name}: returned {type(result).__name__}"
    assert time.monotonic() - started < HANG_SECONDS, f"{loader.name}: a case took over {HANG_SECONDS} s"


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.name)
def test_shipped_file_loads(loader: Loader, tmp_path: Path) -> None:
    """The unmutated file loads through the same path the fuzzing takes (a broken harness would refuse it)."""
    path = tmp_path / loader.shipped.name
    path.write_bytes(loader.shipped.read_bytes())
    assert isinstance(loader.load(path), loader.model)


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.name)
@pytest.mark.timeout(target_timeout(CI_CASES, 0.5))
def test_mutated_file_loads_or_is_refused_clearly(loader: Loader, tmp_path: Path) -> None:
    path = tmp_path / loader.shipped.name
    original = loader.shipped.read_text(encoding="utf-8")

    @fuzz_settings(CI_CASES)
    @given(data=mutated_bytes(original))
    def fuzz(data: bytes) -> None:
        with case(f"yaml:{loader.name}", describe(original.encode(), data)):
            run_case(loader, path, data)

    fuzz()


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.name)
def test_bytes_that_are_no_text_are_refused_clearly(loader: Loader, tmp_path: Path) -> None:
    """Whole files that are not UTF-8 at all: each loader refuses them with its own error."""
    path = tmp_path / loader.shipped.name
    original = loader.shipped.read_text(encoding="utf-8")
    for data in (original.encode("gbk"), original.encode("utf-16"), b"\xff\xfe\x00" * 10, b"\x00" * 64):
        path.write_bytes(data)
        with pytest.raises(loader.refusal) as refused:
            loader.load(path)
        check_refusal(loader, refused.value, path, data)


def test_most_mutations_are_refused() -> None:
    """The mutations reach the loaders' refusals: most of 50 mutated registries are refused."""
    outcomes: list[bool] = []
    original = REGISTRY_FILE.read_text(encoding="utf-8")

    @settings(max_examples=50, derandomize=True, database=None, deadline=None)
    @given(text=mutated_text(original))
    def sample(text: str) -> None:
        try:
            parse_registry(text, "x")
            outcomes.append(True)
        except ConfigError:
            outcomes.append(False)

    sample()
    assert len(outcomes) >= 50
    assert outcomes.count(False) > len(outcomes) / 2
