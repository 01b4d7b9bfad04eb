"""``hotline reload``: validate the registry, render the include files, reload Asterisk over AMI
(dialplan, PJSIP, queues: calls in progress are untouched) and tell `hotline serve` to reload.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ari_app.ami.client import AmiTarget, run_commands
from ari_app.registry.loader import load_registry
from ari_app.registry.render import write_all
from ari_app.seats.model import Seats

RELOAD_COMMANDS = ["dialplan reload", "module reload res_pjsip.so", "module reload app_queue.so"]


@dataclass(frozen=True)
class ReloadReport:
    written: list[Path]
    ami_outputs: dict[str, str]
    service: dict[str, object] | None  # the service's answer, None if no service URL was given


async def reload_everything(
    registry_path: Path,
    out_dir: Path,
    seats: Seats,
    passwords: Mapping[str, str],
    ami: AmiTarget,
    service_url: str | None,
    credentials: tuple[str, str] | None = None,
) -> ReloadReport:
    registry = load_registry(registry_path)  # ConfigError: nothing is written or reloaded
    written = write_all(registry, seats, passwords, out_dir)
    outputs = await run_commands(ami, RELOAD_COMMANDS)
    service = _tell_service(service_url, credentials) if service_url else None
    return ReloadReport(written, outputs, service)


def _login(url: str, credentials: tuple[str, str]) -> dict[str, str]:
    """The Authorization header of a session opened with ``credentials`` (name, password)."""
    name, password = credentials
    body = json.dumps({"name": name, "password": password}).encode()
    request = urllib.request.Request(url.rstrip("/") + "/login", method="POST", data=body,  # noqa: S310
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http URL from the operator
        token = str(json.loads(response.read())["token"])
    return {"Authorization": f"Bearer {token}"}


def _tell_service(url: str, credentials: tuple[str, str] | None = None) -> dict[str, object]:
    if not url.startswith(("http://", "https://")):
        return {"reloaded": False, "problems": [f"service URL must be http(s): {url!r}"]}
    try:
        headers = _login(url, credentials) if credentials else {}
    except urllib.error.HTTPError as exc:
        refused = json.loads(exc.read() or b"{}").get("error", exc.reason)
        who = credentials[0] if credentials else "?"
        return {"reloaded": False, "problems": [f"the service refused the login of {who}: {refused}"]}
    except OSError as exc:
        return {"reloaded": False, "problems": [f"service not reachable at {url}: {exc}"]}
    request = urllib.request.Request(url.rstrip("/") + "/registry/reload", method="POST", data=b"",  # noqa: S310
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http URL from the operator
            result: dict[str, object] = json.loads(response.read())
            return result
    except urllib.error.HTTPError as exc:
        body: dict[str, object] = json.loads(exc.read() or b"{}")
        return body
    except OSError as exc:
        return {"reloaded": False, "problems": [f"service not reachable at {url}: {exc}"]}
