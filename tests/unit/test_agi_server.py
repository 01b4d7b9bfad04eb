"""agi.server: header parsing and the FastAGI server's handling of bad and good clients, no Asterisk."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import AsyncIterator, Callable
from datetime import date

import pytest
from structlog.testing import capture_logs

from agi.routes import AgiRoutes
from agi.server import MAX_HEADER_BYTES, AgiHangup, AgiRequest, FastAgiServer, parse_headers
from ari_app.clock import FixedClock
from ari_app.registry.holder import RegistryHolder
from ari_app.settings import REPO_ROOT

# What Asterisk 22 sends for AGI(agi://127.0.0.1:4573/number-route,12345): one "key: value" line
# each, "\n" line ends, a blank line at the end. Note the empty agi_accountcode keeps its space.
HEADER_LINES = [
    "agi_network: yes",
    "agi_network_script: number-route",
    "agi_request: agi://127.0.0.1:4573/number-route",
    "agi_channel: PJSIP/trunk-00000008",
    "agi_language: zh",
    "agi_type: PJSIP",
    "agi_uniqueid: 1732068903.17",
    "agi_version: 22.1.0",
    "agi_callerid: 13800138000",
    "agi_calleridname: unknown",
    "agi_callingpres: 0",
    "agi_callingani2: 0",
    "agi_callington: 0",
    "agi_callingtns: 0",
    "agi_dnid: 12345",
    "agi_rdnis: unknown",
    "agi_context: hotline-inbound",
    "agi_extension: 12345",
    "agi_priority: 2",
    "agi_enhanced: 0.0",
    "agi_accountcode: ",
    "agi_threadid: 140245062608576",
    "agi_arg_1: 12345",
]


def header_block(script: str = "number-route", **extra: str) -> bytes:
    lines = [
        f"agi_network_script: {script}" if line.startswith("agi_network_script:") else line for line in HEADER_LINES
    ]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return ("\n".join(lines) + "\n\n").encode()


# -- parse_headers -------------------------------------------------------------------------------


def test_parse_real_header_block() -> None:
    headers = parse_headers(header_block())
    assert headers["agi_network_script"] == "number-route"
    assert headers["agi_arg_1"] == "12345"
    assert headers["agi_channel"] == "PJSIP/trunk-00000008"
    assert headers["agi_request"] == "agi://127.0.0.1:4573/number-route"
    assert headers["agi_accountcode"] == ""
    assert headers["agi_uniqueid"] == "1732068903.17"
    assert len(headers) == len(HEADER_LINES)


def test_parse_accepts_crlf_line_ends() -> None:
    headers = parse_headers(b"agi_network: yes\r\nagi_network_script: x\r\nagi_arg_1: a: b\r\n\r\n")
    assert headers == {"agi_network": "yes", "agi_network_script": "x", "agi_arg_1": "a: b"}


@pytest.mark.parametrize(
    "raw",
    [
        b"GET / HTTP/1.1\nHost: 127.0.0.1\n\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n",
        b"agi_network_script number-route\n\n",
        b"agi_network: yes\nhello\nagi_network_script: number-route\n\n",
        b"network_script: number-route\n\n",
    ],
)
def test_parse_rejects_garbage(raw: bytes) -> None:
    with pytest.raises(ValueError):
        parse_headers(raw)


@pytest.mark.parametrize("raw", [b"", b"\n\n", b"agi_network: yes\nagi_channel: PJSIP/trunk-00000008\n\n"])
def test_parse_requires_network_script(raw: bytes) -> None:
    with pytest.raises(ValueError, match="agi_network_script"):
        parse_headers(raw)


# -- FastAgiServer -------------------------------------------------------------------------------


async def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


class Recorder:
    def __init__(self) -> None:
        self.outcomes: list[str] = []

    async def set_x(self, request: AgiRequest) -> None:
        try:
            await request.set_variable("X", "1")
        except AgiHangup:
            self.outcomes.append(f"hangup:{request.script}")
            raise
        self.outcomes.append(f"ok:{request.script}:{request.arg(1)}")

    async def set_quoted(self, request: AgiRequest) -> None:
        await request.set_variable("NOTE", 'say "hi" \\ bye')
        self.outcomes.append("ok:quoted")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def agi(recorder: Recorder) -> AsyncIterator[tuple[FastAgiServer, int]]:
    routes = AgiRoutes(
        RegistryHolder(REPO_ROOT / "config" / "hotlines.yaml"), FixedClock(date(2021, 12, 1)), lambda: None
    ).table()
    server = FastAgiServer({"set-x": recorder.set_x, "set-quoted": recorder.set_quoted, **routes}, header_timeout=0.3)
    port = await server.start("127.0.0.1", 0)
    assert port > 0
    yield server, port
    await server.stop()


async def converse_ok(port: int, script: str = "set-x") -> bytes:
    """A well-behaved client: send the header, answer the one command with 200 result=1."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(header_block(script))
        await writer.drain()
        command = await asyncio.wait_for(reader.readline(), 3)
        writer.write(b"200 result=1\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 3) == b""  # the server hangs up when the route ends
        return command
    finally:
        await close(writer)


async def test_server_survives_bad_clients_then_serves(agi: tuple[FastAgiServer, int], recorder: Recorder) -> None:
    server, port = agi

    # (a) connect and close at once
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    await close(writer)
    await wait_until(lambda: server.rejected == 1)

    # (b) garbage, then close
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage\xff\xfe\n")
    await writer.drain()
    await close(writer)
    await wait_until(lambda: server.rejected == 2)

    # (c) half a header, then silence past header_timeout: the server must drop us
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"agi_network: yes\nagi_network_script: set-x\n")
    await writer.drain()
    started = time.monotonic()
    assert await asyncio.wait_for(reader.read(), 3) == b""
    assert 0.2 <= time.monotonic() - started < 2.5
    await close(writer)
    assert server.rejected == 3
    assert server.served == 0
    assert recorder.outcomes == []

    # (d) a well-formed request is still served
    command = await converse_ok(port)
    assert command == b'SET VARIABLE X "1"\n'
    await wait_until(lambda: server.served == 1)
    assert server.rejected == 3
    assert recorder.outcomes == ["ok:set-x:12345"]


async def test_empty_reply_is_a_hangup_and_the_server_keeps_serving(
    agi: tuple[FastAgiServer, int], recorder: Recorder
) -> None:
    server, port = agi

    # (e) the channel hangs up: the client reads the command and closes without replying
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(header_block("set-x"))
    await writer.drain()
    assert await asyncio.wait_for(reader.readline(), 3) == b'SET VARIABLE X "1"\n'
    await close(writer)
    await wait_until(lambda: server.served == 1)
    assert recorder.outcomes == ["hangup:set-x"]

    # and the next call is served normally
    assert await converse_ok(port) == b'SET VARIABLE X "1"\n'
    await wait_until(lambda: server.served == 2)
    assert recorder.outcomes == ["hangup:set-x", "ok:set-x:12345"]
    assert server.rejected == 0


async def test_hangup_reply_is_an_agi_hangup(agi: tuple[FastAgiServer, int], recorder: Recorder) -> None:
    server, port = agi
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(header_block("set-x"))
        await writer.drain()
        await asyncio.wait_for(reader.readline(), 3)
        writer.write(b"HANGUP\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 3) == b""
    finally:
        await close(writer)
    await wait_until(lambda: server.served == 1)
    assert recorder.outcomes == ["hangup:set-x"]


async def test_unknown_script_is_rejected(agi: tuple[FastAgiServer, int], recorder: Recorder) -> None:
    server, port = agi
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(header_block("no-such-route"))
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 3) == b""
    finally:
        await close(writer)
    assert server.rejected == 1
    assert server.served == 0
    assert recorder.outcomes == []


async def test_oversized_header_is_rejected_before_the_timeout() -> None:
    server = FastAgiServer({}, header_timeout=10)
    port = await server.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(b"agi_network_script: " + b"a" * (MAX_HEADER_BYTES * 2) + b"\n")
            started = time.monotonic()
            with contextlib.suppress(ConnectionError):
                await writer.drain()
                assert await asyncio.wait_for(reader.read(), 5) == b""
            assert time.monotonic() - started < 5
        finally:
            await close(writer)
        await wait_until(lambda: server.rejected == 1)
        assert server.served == 0
    finally:
        await server.stop()


async def test_number_route_over_fastagi(agi: tuple[FastAgiServer, int]) -> None:
    """12349 during its transition (2021-12-01): intake with the merge announcement, tagged 12349."""
    server, port = agi
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    commands = []
    try:
        block = header_block("number-route").replace(b"agi_arg_1: 12345", b"agi_arg_1: 12349")
        writer.write(block)
        await writer.drain()
        for _ in range(7):
            commands.append(await asyncio.wait_for(reader.readline(), 3))
            writer.write(b"200 result=1\n")
            await writer.drain()
        assert await asyncio.wait_for(reader.read(), 3) == b""
    finally:
        await close(writer)
    assert commands == [
        b'SET VARIABLE HOTLINE_ROUTE "intake"\n',
        b'SET VARIABLE HOTLINE_TAG "12349"\n',
        b'SET VARIABLE HOTLINE_PROMPT "merged-12349"\n',
        b'SET VARIABLE HOTLINE_THEN "continue"\n',
        b'SET VARIABLE HOTLINE_DIAL ""\n',
        b'SET VARIABLE HOTLINE_DIAL_TIMEOUT "0"\n',
        b'SET VARIABLE HOTLINE_GROUP "civil-affairs"\n',
    ]
    await wait_until(lambda: server.served == 1)


async def test_set_variable_escapes_quotes_and_backslashes(agi: tuple[FastAgiServer, int], recorder: Recorder) -> None:
    server, port = agi
    assert await converse_ok(port, "set-quoted") == b'SET VARIABLE NOTE "say \\"hi\\" \\\\ bye"\n'
    await wait_until(lambda: server.served == 1)
    assert recorder.outcomes == ["ok:quoted"]


async def test_stop_refuses_new_connections() -> None:
    server = FastAgiServer({}, header_timeout=0.3)
    port = await server.start("127.0.0.1", 0)
    await server.stop()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


# -- found by the fuzzing (tests/fuzz/test_fuzz_agi.py) ----------------------------------------------


async def test_a_client_that_stops_answering_is_dropped_after_the_reply_timeout(recorder: Recorder) -> None:
    """Panoramisk waits for a command's reply for ever: a peer that went silent held its connection."""
    server = FastAgiServer({"set-x": recorder.set_x}, header_timeout=0.3, reply_timeout=0.3)
    port = await server.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(header_block("set-x"))
            await writer.drain()
            assert await asyncio.wait_for(reader.readline(), 3) == b'SET VARIABLE X "1"\n'
            started = time.monotonic()
            assert await asyncio.wait_for(reader.read(), 5) == b""  # no reply from us: the server hangs up
            assert time.monotonic() - started >= 0.25
        finally:
            await close(writer)
        await wait_until(lambda: server.served == 1)
        assert recorder.outcomes == ["hangup:set-x"]
        assert server.rejected == 0
    finally:
        await server.stop()


async def test_every_refusal_is_logged_with_its_reason(agi: tuple[FastAgiServer, int]) -> None:
    """A reset during the header was refused without a log line; a header timeout was logged with an
    empty detail (str(TimeoutError()) is '')."""
    server, port = agi
    with capture_logs() as logs:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"agi_network: yes\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 3) == b""  # silence past header_timeout (0.3 s)
        await close(writer)

        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # RST, not FIN
        await wait_until(lambda: server.rejected == 2)

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"agi_network: yes\nagi_network_script: x")
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), 3) == b""
        await close(writer)
        await wait_until(lambda: server.rejected == 3)
    refusals = [entry for entry in logs if entry["event"] == "agi_bad_request"]
    assert [entry["error"] for entry in refusals[:1] + refusals[2:]] == ["TimeoutError", "IncompleteReadError"]
    assert refusals[1]["error"] in ("ConnectionResetError", "IncompleteReadError")  # a reset may read as EOF
    assert refusals[0]["detail"] == "no complete header (a blank line ends it) within 0.3 s"
    assert refusals[2]["detail"] == "the connection ended after 38 bytes, before the header's blank line"
    assert all(entry["detail"] for entry in refusals)
