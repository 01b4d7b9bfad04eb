"""hotline check-config also checks the working-day calendar and the work-order time limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from ari_app.cli import main


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("HOTLINE_REGISTRY", "HOTLINE_SEATS", "HOTLINE_CALENDAR", "HOTLINE_WORKORDERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOTLINE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("HOTLINE_TODAY", "2026-06-01")  # inside the shipped calendar, whatever the date


def test_a_broken_calendar_is_reported_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calendar = tmp_path / "calendar.yaml"
    calendar.write_text(
        "years:\n  - year: 2026\n    notice: 通知\n    holidays: []\n"
        "    make_up_workdays: [{date: 2026-03-04, name: 调休}]\n", encoding="utf-8",
    )
    monkeypatch.setenv("HOTLINE_CALENDAR", str(calendar))
    assert main(["check-config"]) == 1
    err = capsys.readouterr().err
    assert f"{calendar}:5: years[0].make_up_workdays[0].date: 2026-03-04 is a Wednesday" in err


def test_a_calendar_that_ends_before_the_longest_limit_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calendar = tmp_path / "calendar.yaml"
    calendar.write_text("years:\n  - year: 2019\n    notice: 通知\n    holidays: []\n    make_up_workdays: []\n",
                        encoding="utf-8")
    monkeypatch.setenv("HOTLINE_CALENDAR", str(calendar))
    assert main(["check-config"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warnings and "calendar" in warnings[-1], warnings


def test_the_shipped_calendar_and_limits_load_without_problems(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config"]) == 0
    assert capsys.readouterr().err == ""
