"""One-shot AMI sessions: log in, run CLI commands, log off.

panoramisk's Manager reconnects forever when a connection fails or closes, which suits a
long-lived event listener but not ``hotline reload``: this subclass fails fast instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
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


class AmiSession:
    """A logged-in AMI connection: CLI commands and variable reads, each under a timeout."""

    def __init__(self, manager: Any, timeout: float) -> None:
        self._manager = manager
        self._timeout = timeout

    async def command(self, command: str) -> tuple[bool, str]:
        """Run a CLI command: (whether Asterisk says it succeeded, its output)."""
        response: Any = await asyncio.wait_for(self._manager.send_command(command), self._timeout)
        output = response.get("Output", "")
        text = "\n".join(output) if isinstance(output, list) else str(output)
        return bool(response.success), text or str(response.get("Message", ""))

    async def getvar(self, variable: str) -> str:
        """A global variable or a function's value (``STRFTIME(,,%s)``)."""
        response: Any = await asyncio.wait_for(
            self._manager.send_action({"Action": "Getvar", "Variable": variable}), self._timeout)
        return str(response.get("Value", ""))


@contextlib.asynccontextmanager
async def session(target: AmiTarget, timeout: float = 10.0) -> AsyncIterator[AmiSession]:
    """Log in (AmiError when AMI cannot be reached or refuses the user), yield, log off."""
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
        yield AmiSession(manager, timeout)
    finally:
        manager.close()


async def run_commands(target: AmiTarget, commands: list[str], timeout: float = 10.0) -> dict[str, str]:
    """Run Asterisk CLI commands over AMI; return each command's output."""
    outputs: dict[str, str] = {}
    async with session(target, timeout) as ami:
        for command in commands:
            succeeded, output = await ami.command(command)
            if not succeeded:
                raise AmiError(f"AMI command {command!r} failed: {output}")
            outputs[command] = output
    return outputs
