"""Safe reloads: the diff between two registries, the holder refusing to drop numbers without
force, and POST /registry/reload (dry run, 409 without force, force) on a real registry file."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ari_app.registry.diff import RegistryDiff, diff_registries, diff_rendered, rendered_numbers
from ari_app.registry.holder import RegistryHolder, ReloadOutcome
from ari_app.registry.loader import load_registry
from ari_app.registry.render import render_numbers
from ari_app.registry.routes import add_registry_routes
from ari_app.settings import REPO_ROOT
from ari_app.web.inputs import json_errors
from ari_app.web.principal import KEY, Principal

SOURCE = REPO_ROOT / "config" / "hotlines.yaml"
TEXT = SOURCE.read_text(encoding="utf-8")


def entry(number: str) -> str:
    """The registry's whole entry for one number, up to the next one."""
    start = TEXT.index(f'  - number: "{number}"\n')
    return TEXT[start:TEXT.index("  - number: ", start + 1)]


def variant(tmp_path: Path, name: str, **replace: str) -> Path:
    text = TEXT
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_no_change() -> None:
    registry = load_registry(SOURCE)
    diff = diff_registries(registry, load_registry(SOURCE))
    assert diff.empty and not diff.removes_numbers and diff.describe() == ["no change"]


def test_removed_added_mode_dates_and_department_line(tmp_path: Path) -> None:
    old = load_registry(SOURCE)
    e12316, e12349 = entry("12316"), entry("12349")
    assert "end: 2022-03-31" in e12349 and "sip:12333@127.0.0.1:5099" in TEXT
    new = load_registry(variant(
        tmp_path, "new.yaml",
        **{e12316: "", e12349: e12349.replace("end: 2022-03-31", "end: 2022-06-30"),
           "sip:12333@127.0.0.1:5099": "sip:12333@10.0.0.7:5060"}))
    diff = diff_registries(old, new)
    assert list(diff.removed) == ["12316"] and diff.removes_numbers
    assert not diff.added
    lines = diff.describe()
    assert any(line.startswith("- 12316 whole_merge_cancelled") for line in lines), lines
    assert "~ 12349 transition end: 2022-03-31 -> 2022-06-30" in lines
    assert any(c.what.startswith("line ") and c.field == "contact" and c.new == "sip:12333@10.0.0.7:5060"
               for c in diff.changes), lines
    back = diff_registries(new, old)  # the other way round: 12316 comes back
    assert list(back.added) == ["12316"] and not back.removed
    assert RegistryDiff.from_json(json.loads(json.dumps(diff.to_json()))) == diff


def test_the_rendered_numbers_baseline(tmp_path: Path) -> None:
    """Without a service to ask, `hotline reload` compares with the numbers it rendered last."""
    old = load_registry(SOURCE)
    new = load_registry(variant(tmp_path, "m.yaml", **{entry("12366"): "", entry("12313"): ""}))
    rendered = rendered_numbers(render_numbers(old))
    assert len(rendered) == len(old.hotlines) and rendered["12349"][0] == "whole_merge_transition"
    diff = diff_rendered(rendered, new)
    assert sorted(diff.removed) == ["12313", "12366"] and not diff.added and not diff.changes
    rendered["12349"] = ("whole_merge_cancelled", rendered["12349"][1])
    assert [str(c) for c in diff_rendered(rendered, new).changes] == [
        "~ 12349 mode: whole_merge_cancelled -> whole_merge_transition"]
    assert diff_rendered({}, new).added.keys() == new.hotlines.keys()  # a first deployment adds them all


def test_holder_refuses_removal_without_force(tmp_path: Path) -> None:
    path = variant(tmp_path, "hotlines.yaml")
    holder = RegistryHolder(path)
    path.write_text(TEXT[:TEXT.index(entry("12316"))], encoding="utf-8")  # a truncated file: still valid YAML
    truncated = load_registry(path)
    assert len(truncated.hotlines) < 24
    preview = holder.reload(dry_run=True)
    assert not preview.applied and preview.changes is not None and "12316" in preview.changes.removed
    refused = holder.reload()
    assert not refused.applied and "12316" in refused.refused and len(holder.current.hotlines) == 24
    assert holder.reloads == 0
    forced = holder.reload(force=True)
    assert forced.applied and len(holder.current.hotlines) == len(truncated.hotlines) and holder.reloads == 1


class Service:
    def __init__(self, holder: RegistryHolder) -> None:
        self.holder = holder

    def reload_registry(self, force: bool = False, dry_run: bool = False) -> ReloadOutcome:
        return self.holder.reload(force, dry_run)

    def registry_summary(self) -> dict[str, object]:
        return {"hotlines": len(self.holder.current.hotlines), "reloads": self.holder.reloads}


@web.middleware
async def as_supervisor(request: web.Request, handler: Any) -> web.StreamResponse:
    request[KEY] = Principal("sup", "supervisor")
    response: web.StreamResponse = await handler(request)
    return response


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], Path]]:
    path = variant(tmp_path, "hotlines.yaml")
    app = web.Application(middlewares=[json_errors, as_supervisor])
    add_registry_routes(app, Service(RegistryHolder(path)))
    async with TestClient(TestServer(app)) as test_client:
        yield test_client, path


async def reload(c: TestClient[web.Request, web.Application], body: bytes) -> tuple[int, Any]:
    async with c.post("/registry/reload", data=body) as response:
        return response.status, await response.json()


async def test_http_reload_dry_run_refusal_and_force(
    client: tuple[TestClient[web.Request, web.Application], Path],
) -> None:
    c, path = client
    path.write_text(TEXT.replace(entry("12316"), ""), encoding="utf-8")
    status, body = await reload(c, b'{"dry_run": true}')
    assert status == 200 and body["dry_run"] is True and list(body["changes"]["removed"]) == ["12316"], body
    status, body = await reload(c, b"")
    assert status == 409 and body["reloaded"] is False and "12316" in body["refused"], body
    status, body = await reload(c, b'{"force": "yes"}')
    assert status == 400 and "force" in body["error"], body
    async with c.get("/registry") as response:
        assert (await response.json())["hotlines"] == 24
    status, body = await reload(c, b'{"force": true}')
    assert status == 200 and body["reloaded"] is True and body["hotlines"] == 23, body
    assert list(body["changes"]["removed"]) == ["12316"]
    path.write_text(TEXT, encoding="utf-8")  # adding numbers back needs no force
    status, body = await reload(c, b"")
    assert status == 200 and body["hotlines"] == 24 and list(body["changes"]["added"]) == ["12316"], body
    path.write_text(TEXT.replace("mode: subcenter", "mode: sub-centre", 1), encoding="utf-8")
    status, body = await reload(c, b'{"force": true}')
    assert status == 422 and any("sub-centre" in p for p in body["problems"]), body
