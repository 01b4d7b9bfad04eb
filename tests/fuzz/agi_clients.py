"""FastAGI clients for the fuzzing: what each sends, how fast, how it ends; and the strategies that draw them."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field

from hypothesis import strategies as st

from tests.fuzz.agi_harness import GOOD_LINES, Outcome, finish, open_client, read_until_closed, reset

ROUTES = ("number-route", "call-end", "degraded", "agent-feature")
ENDINGS = ("wait", "close", "shutdown", "reset")  # after sending: read to EOF / close / half-close and read / RST


@dataclass
class Client:
    chunks: list[bytes]
    pause: float = 0.0  # seconds between chunks: a slow client's pace
    then: str = "wait"
    replies: list[bytes] = field(default_factory=list)

    @property
    def sent(self) -> bytes:
        return b"".join(self.chunks)

    def describe(self) -> str:
        replies = [reply[:40] for reply in self.replies]
        return f"{self.then} pause={self.pause} chunks={len(self.chunks)} sent={self.sent[:80]!r} replies={replies}"


async def run_client(port: int, client: Client) -> Outcome:
    """Play ``client`` against the server; ``closed_by_server`` tells whether the server ended it in time."""
    reader, writer = await open_client(port)
    outcome = Outcome()
    try:
        for chunk in client.chunks:
            writer.write(chunk)
            try:
                await writer.drain()
            except ConnectionError:  # the server already refused (an oversized header, say)
                outcome.closed_by_server = True
                return outcome
            if client.pause:
                await asyncio.sleep(client.pause)  # the slow client's pace, not a wait for a condition
        if client.then == "close":
            outcome.closed_by_server = True  # nothing to wait for: the client left
        elif client.then == "reset":
            reset(writer)
            outcome.closed_by_server = True
        else:
            if client.then == "shutdown":
                with contextlib.suppress(OSError):
                    writer.write_eof()
            await read_until_closed(reader, writer, client.replies, outcome, silent=client.then == "shutdown")
    finally:
        await finish(writer)
    return outcome


# -- strategies -------------------------------------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8"), max_size=30)
SCRIPTS = st.one_of(
    st.sampled_from((*ROUTES, "", " ", "number-route ", "NUMBER-ROUTE", "../number-route", "number-route\x00",
                     "number-route/x", "号码路由", "call-end?x=1")),
    TEXT,
)
ARG_VALUES = st.one_of(
    st.sampled_from(("", "12345", "12349", "*72", "*75", "agent-1001", "end", "%E5%B8%82", "%ZZ", "%", '"', "\\",
                     "x" * 300, "intake", "department", "ANSWER", "unknown")),
    TEXT,
)


def _line(key: str, value: str) -> bytes:
    return f"{key}: {value}".encode("utf-8", errors="surrogatepass")


HEADER_LINE = st.one_of(
    st.sampled_from(GOOD_LINES).map(str.encode),
    SCRIPTS.map(lambda s: _line("agi_network_script", s)),
    st.builds(lambda n, v: _line(f"agi_arg_{n}", v), st.integers(0, 12), ARG_VALUES),
    st.builds(lambda k, v: _line("agi_" + k, v), TEXT, TEXT),
    TEXT.map(lambda t: t.encode("utf-8", errors="surrogatepass")),
    st.binary(max_size=40),
    st.sampled_from((
        "agi_arg_1: 市民服务热线".encode("gbk"), b"agi_arg_1: \xff\xfe\xfd", b"agi_channel: PJSIP/\x00\x00",
        b"agi_arg_1:12345", b"agi_arg_1 : 12345", b": ", b"agi_", b"agi_network_script:", b"\r", b"\x00" * 8,
        b"GET / HTTP/1.1", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    )),
    st.sampled_from((1000, 16 * 1024, 40 * 1024)).map(lambda n: b"agi_arg_1: " + b"x" * n),
)
BLOCK_END = st.sampled_from((b"\n\n", b"\n\n", b"\r\n\r\n", b"\n", b"", b"\n\r\n", b"\n\n\n"))


@st.composite
def header_block(draw: st.DrawFn) -> bytes:
    """A header block: random lines, or Asterisk's good lines with some replaced, dropped or added."""
    if draw(st.booleans()):
        lines = draw(st.lists(HEADER_LINE, max_size=25))
    else:
        lines = [line.encode() for line in GOOD_LINES]
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(lines)))
            action = draw(st.sampled_from(("replace", "drop", "insert")))
            if action == "insert" or not lines or at == len(lines):
                lines.insert(at, draw(HEADER_LINE))
            elif action == "drop":
                del lines[at]
            else:
                lines[at] = draw(HEADER_LINE)
    sep = draw(st.sampled_from((b"\n", b"\n", b"\r\n")))
    return sep.join(lines) + draw(BLOCK_END)


@st.composite
def chunked(draw: st.DrawFn, data: bytes, max_chunks: int = 1) -> list[bytes]:
    """``data`` in one piece, or cut into up to ``max_chunks`` pieces (byte by byte when that is short enough)."""
    if max_chunks <= 1 or len(data) <= 1 or draw(st.booleans()):
        return [data]
    if len(data) <= max_chunks and draw(st.booleans()):
        return [data[i:i + 1] for i in range(len(data))]
    cuts = sorted(set(draw(st.lists(st.integers(1, len(data) - 1), max_size=max_chunks - 1))))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@st.composite
def bad_client(draw: st.DrawFn) -> Client:
    block = draw(header_block())
    return Client(draw(chunked(block, 8)), 0.0, draw(st.sampled_from(ENDINGS)), draw(st.lists(REPLY, max_size=3)))


REPLY = st.one_of(
    st.sampled_from((
        b"200 result=1\n", b"200 result=0\n", b"200 result=-1\n", b"200 result=1 (hangup)\n", b"HANGUP\n",
        b"100 result=0 Trying...\n", b"510 Invalid or unknown command\n",
        b"520-Invalid command syntax.  Proper usage follows:\nUsage: SET VARIABLE\n520 End of proper usage.\n",
        b"\n", b"<stall>", b"<close>", b"<reset>", b"\xff\xfe\n", b"\x00\n", "200 结果=1\n".encode("gbk"),
        "200 result=1\n".encode("utf-16"), b"200 result=" + b"9" * 20000 + b"\n", b"200", b"999 result=1\n",
        b"abc\n", b"200 result=1\n200 result=1\n", b"200 result=1 (" + b"(" * 500 + b"\n", b"-1\n", b"\r\n",
    )),
    st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"") + b"\n"),
)


@st.composite
def route_request(draw: st.DrawFn) -> bytes:
    """A well-formed header for one of the real routes, with arguments drawn from ARG_VALUES."""
    script = draw(st.sampled_from(ROUTES))
    lines = [f"agi_network_script: {script}" if line.startswith("agi_network_script:") else line
             for line in GOOD_LINES if not line.startswith("agi_arg_")]
    if draw(st.booleans()):
        lines = [line for line in lines if not line.startswith(("agi_uniqueid", "agi_callerid", "agi_extension"))]
    args = draw(st.lists(ARG_VALUES, max_size=10))
    lines += [f"agi_arg_{i}: {value.replace(chr(10), ' ')}" for i, value in enumerate(args, 1)]  # one line each
    return ("\n".join(lines) + "\n\n").encode("utf-8", errors="surrogatepass")
