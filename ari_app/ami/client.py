"""One-shot AMI sessions: log in, run CLI commands, log off.

panoramisk's Manager reconnects forever when a connection fails or closes, which suits a
long-lived event listener but not ``hotline reload``: this subclass fails fast instead.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from panoramisk import Manager


class AmiError(RuntimeError):
    pass


class _OneShotManager(Manager):  # type: ignore[misc]
    pinger: Any

    def connection_lost(self, exc: Exception | None) -> None:
        self._connected = False
        if self.pinger:
            self.pinger.cancel()
            self.pinger = None


@dataclass(frozen=True)
class AmiTarget:
    host: str
    port: int
    user: str
    secret: str = field(repr=False)


async def run_commands(target: AmiTarget, commands: list[str], timeout: float = 10.0) -> dict[str, str]:
    """Run Asterisk CLI commands over AMI; return each command's output."""
    manager = _OneShotManager(
        host=target.host, port=target.port, username=target.user, secret=target.secret,
        events="off", ping_delay=3600, loop=asyncio.get_running_loop(),
    )
    try:
        try:
            await asyncio.wait_for(manager.connect(), timeout)
        except (OSError, TimeoutError) as exc:
            raise AmiError(f"cannot reach AMI at {target.host}:{target.port}: {type(exc).__name__}") from None
        login: Any = await asyncio.wait_for(manager.authenticated_future, timeout)
        if not login.success:
            raise AmiError(f"AMI refused user {target.user!r} (check HOTLINE_AMI_USER / HOTLINE_AMI_SECRET)")
        outputs: dict[str, str] = {}
        for command in commands:
            response: Any = await asyncio.wait_for(manager.send_command(command), timeout)
            if not response.success:
                raise AmiError(f"AMI command {command!r} failed: {response.get('Message', '')}")
            output = response.get("Output", "")
            outputs[command] = "\n".join(output) if isinstance(output, list) else str(output)
        return outputs
    finally:
        manager.close()
