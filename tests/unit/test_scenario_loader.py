"""The scenario catalogue's expect.yaml: what it holds, and problems named by file, line and field."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ari_app.configcheck.problems import ConfigError
from ari_app.scenarios.command import CATALOGUE, PEERS
from ari_app.scenarios.loader import load_catalogue, load_scenario

GOOD = """\
description: >
  A caller to 12349.
dial: "12349"
caller: caller-listens.xml
listen_ms: 20000
min_voiced_seconds: 4
record: {hotline: "12349", route: intake}
events: [answered, queued]
prompts: [merged-12349]
agents:
  - {id: "1001", phone: answer-then-bye.xml, hold_ms: 3000, rings: 1}
department: {phone: busy.xml, line: "12333"}
dates:
  - from: 2022-04-01
    record: {route: intercept}
    prompts: [intercept-12349]
"""


def _folder(tmp_path: Path, text: str, name: str = "s") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "expect.yaml").write_text(text, encoding="utf-8")
    return folder


def test_a_scenario_reads_with_its_peers_and_dated_expectations(tmp_path: Path) -> None:
    s = load_scenario(_folder(tmp_path, GOOD), PEERS)
    assert (s.name, s.description, s.caller) == ("s", "A caller to 12349.", PEERS / "caller-listens.xml")
    assert s.expect.dial == "12349" and s.expect.listen_ms == 20000 and s.expect.min_voiced_seconds == 4.0
    assert s.agents[0].id == "1001" and s.agents[0].rings == 1 and s.agents[0].phone.endswith("answer-then-bye.xml")
    assert s.department is not None and s.department.line == "12333" and s.exclusive
    before, after = s.expect_on(date(2022, 3, 31)), s.expect_on(date(2026, 12, 1))
    assert dict(before.record)["route"] == "intake" and before.prompts == ("merged-12349",)
    assert dict(after.record) == {"route": "intercept"} and after.prompts == ("intercept-12349",)
    assert after.events == ("answered", "queued")  # not in the dated entry: kept


def test_problems_name_file_line_and_field(tmp_path: Path) -> None:
    text = GOOD.replace('dial: "12349"', "dial: 12349").replace("rings: 1", "rings: many") \
        .replace("record: {hotline", "record: {agent: x, hotline").replace("listen_ms", "listen")
    folder = _folder(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_scenario(folder, PEERS)
    lines = str(caught.value).splitlines()
    where = str(folder / "expect.yaml")
    assert any(line.startswith(f"{where}:3: dial: expected a string") and "quote it" in line for line in lines)
    assert any(line.startswith(f"{where}:5: listen: unknown key (did you mean 'listen_ms'?)") for line in lines)
    assert any(line.startswith(f"{where}:7: record.agent: not a call record field") for line in lines)
    assert any(line.startswith(f"{where}:11: agents[0].rings:") for line in lines), lines


def test_a_missing_sipp_file_and_required_keys_are_problems(tmp_path: Path) -> None:
    folder = _folder(tmp_path, 'dial: "12345"\ncaller: nowhere.xml\n')
    with pytest.raises(ConfigError) as caught:
        load_scenario(folder, PEERS)
    text = str(caught.value)
    assert "description: missing required key" in text
    assert ":2: caller: no SIPp file 'nowhere.xml'" in text


def test_unknown_names_and_the_real_catalogue(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no-such: no such scenario"):
        load_catalogue(CATALOGUE, PEERS, ["no-such"])
    scenarios = load_catalogue(CATALOGUE, PEERS)
    numbers = {s.expect.dial for s in scenarios if s.name.startswith("number-") or s.name == "greeting-12345"}
    assert len(numbers) == 25  # the platform number and the registry's 24
