"""``hotline reload``: validate the registry, show what it changes against the running one (the
service's, or the numbers last rendered for Asterisk), refuse to remove numbers unless forced,
render the include files, reload Asterisk over AMI (dialplan, PJSIP, queues: calls in progress are
untouched) and tell `hotline serve` to reload.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ari_app.ami.client import AmiTarget, run_commands
from ari_app.registry.diff import RegistryDiff, diff_rendered, rendered_numbers
from ari_app.registry.loader import load_registry
from ari_app.registry.model import Registry
from ari_app.registry.render import write_all
from ari_app.seats.model import Seats

RELOAD_COMMANDS = ["dialplan reload", "module reload res_pjsip.so", "module reload app_queue.so"]
NUMBERS_FILE = "hotline-numbers.conf"


@dataclass(frozen=True)
class ReloadReport:
    changes: RegistryDiff  # against the service's running registry, else the numbers rendered last
    written: list[Path] = field(default_factory=list)
    ami_outputs: dict[str, str] = field(default_factory=dict)  # "command" (or "node: command") -> output
    service: dict[str, object] | None = None  # the service's answer, None if no service URL was given
    refused: str = ""  # why nothing was written (numbers removed without force, the service's problems)


def preview(registry: Registry, out_dir: Path, service: dict[str, object] | None) -> tuple[RegistryDiff, str]:
    """(what changes, why to stop): the service's own diff when it answered a dry run, else the diff
    against the numbers rendered in ``out_dir``; numbers removed in either are counted."""
    try:
        rendered = rendered_numbers((out_dir / NUMBERS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        rendered = {}
    local = diff_rendered(rendered, registry)
    if service is None:
        return local, ""
    changes = service.get("changes")
    if not isinstance(changes, dict):
        why = service.get("problems") or service.get("error")
        return local, f"the service did not show its changes ({why}); nothing was changed (--no-service: Asterisk only)"
    remote = RegistryDiff.from_json(changes)
    removed = {**remote.removed, **{n: d for n, d in local.removed.items() if n not in remote.removed}}
    return RegistryDiff(remote.added, removed, remote.changes), ""


async def reload_everything(
    registry_path: Path,
    out_dir: Path,
    seats: Seats,
    passwords: Mapping[str, str],
    ami: AmiTarget,
    service_url: str | None,
    credentials: tuple[str, str] | None = None,
    force: bool = False,
    dry_run: bool = False,
    dialplan: Path | None = None,
    nodes: Sequence[tuple[str, Path, AmiTarget]] = (),
    agent_proxy: str = "",
) -> ReloadReport:
    """``nodes``: several Asterisk nodes, each (name, include dir, AMI): every one is rendered and
    reloaded (``out_dir`` and ``ami`` are then the first's); ``agent_proxy``: host:port of the SIP
    proxy the agents' phones register at (the nodes reach them through it)."""
    targets = list(nodes) or [("", out_dir, ami)]
    out_dir = targets[0][1]
    registry = load_registry(registry_path)  # ConfigError: nothing is written or reloaded
    service = ServiceClient(service_url, credentials) if service_url else None
    changes, problem = preview(registry, out_dir, service.reload(dry_run=True) if service else None)
    if problem:
        return ReloadReport(changes, refused=problem)
    if dry_run:
        return ReloadReport(changes)
    if changes.removes_numbers and not force:
        return ReloadReport(changes, refused=f"the file removes {len(changes.removed)} number(s) citizens dial "
                            f"({', '.join(changes.removed)}); run again with --force to remove them")
    written: list[Path] = []
    outputs: dict[str, str] = {}
    for name, directory, target in targets:
        written += write_all(registry, seats, passwords, directory, dialplan=dialplan, agent_proxy=agent_proxy)
        for command, output in (await run_commands(target, RELOAD_COMMANDS)).items():
            outputs[f"{name}: {command}" if name else command] = output
    answer = service.reload(force=force) if service else None
    return ReloadReport(changes, written, outputs, answer)


def show_report(report: ReloadReport, dry_run: bool = False) -> int:
    """Print what changes and what was done (problems on stderr); the exit status of `hotline reload`."""
    print("changes:" if not report.changes.empty else "changes: none")
    for line in report.changes.describe() if not report.changes.empty else []:
        print(f"  {line}")
    if report.refused:
        print(f"hotline: refused: {report.refused}", file=sys.stderr)
        return 1
    if dry_run:
        print("dry run: nothing written or reloaded")
        return 0
    for path in report.written:
        print(f"rendered {path}")
    for command in report.ami_outputs:
        print(f"asterisk: {command}: ok")
    if report.service is not None:
        if report.service.get("reloaded"):
            print(f"service: registry reloaded ({report.service.get('hotlines')} hotlines)")
        else:
            why = report.service.get("refused") or report.service.get("problems")
            print(f"service: not reloaded: {why}", file=sys.stderr)
            return 1
    return 0


class ServiceClient:
    """POST /registry/reload on `hotline serve`, logged in once as ``credentials`` (name, password)."""

    def __init__(self, url: str, credentials: tuple[str, str] | None) -> None:
        self.url = url.rstrip("/")
        self.credentials = credentials
        self._headers: dict[str, str] | None = None

    def _login(self) -> dict[str, str]:
        if self._headers is None:
            headers = {"Content-Type": "application/json"}
            if self.credentials:
                name, password = self.credentials
                body = json.dumps({"name": name, "password": password}).encode()
                request = urllib.request.Request(self.url + "/login", method="POST", data=body,  # noqa: S310
                                                 headers=headers)
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - operator's URL
                    headers["Authorization"] = f"Bearer {json.loads(response.read())['token']}"
            self._headers = headers
        return self._headers

    def reload(self, force: bool = False, dry_run: bool = False) -> dict[str, object]:
        """The service's answer (or a ``problems`` entry saying why there is none)."""
        if not self.url.startswith(("http://", "https://")):
            return {"reloaded": False, "problems": [f"service URL must be http(s): {self.url!r}"]}
        try:
            headers = self._login()
        except urllib.error.HTTPError as exc:
            refused = json.loads(exc.read() or b"{}").get("error", exc.reason)
            who = self.credentials[0] if self.credentials else "?"
            return {"reloaded": False, "problems": [f"the service refused the login of {who}: {refused}"]}
        except OSError as exc:
            return {"reloaded": False, "problems": [f"service not reachable at {self.url}: {exc}"]}
        body = json.dumps({"force": force, "dry_run": dry_run}).encode()
        request = urllib.request.Request(self.url + "/registry/reload", method="POST", data=body,  # noqa: S310
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - operator's URL
                result: dict[str, object] = json.loads(response.read())
                return result
        except urllib.error.HTTPError as exc:
            answer: dict[str, object] = json.loads(exc.read() or b"{}")
            return answer
        except OSError as exc:
            return {"reloaded": False, "problems": [f"service not reachable at {self.url}: {exc}"]}
