"""A further address on the loopback interface for the duration of a test (a LAN-like or a
stranger's address): needs root, as CI runs."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def loopback_address(address: str) -> Iterator[str]:
    if os.geteuid() != 0:
        pytest.skip("adding an address to the loopback interface needs root")
    added = subprocess.run(["ip", "addr", "add", f"{address}/32", "dev", "lo"], capture_output=True, text=True)
    assert added.returncode == 0 or "File exists" in added.stderr, added.stderr
    try:
        yield address
    finally:
        subprocess.run(["ip", "addr", "del", f"{address}/32", "dev", "lo"], capture_output=True)
