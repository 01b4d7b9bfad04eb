"""A TCP proxy for fault tests, run in a thread of its own: put it between the service and a
server it talks to (Asterisk's ARI, PostgreSQL), then cut every connection and refuse new ones for
a while, delay what the server sends back (``delay``: each chunk waits its turn, so a slow reader
is modelled), or delay what the client sends (``request_delay``: each chunk arrives that much later
than sent, without holding back the ones behind it: a slow network or a slow server, e.g. every
PostgreSQL statement 200 ms late)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType

from ari_app.sandbox.proc import free_port


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.delay = 0.0  # seconds added before each chunk the server sends back, one after the other
        self.request_delay = 0.0  # seconds each chunk the client sends arrives late (a latency, not a queue)
        self.delayed_chunks = 0  # client chunks delivered with a request delay
        self.connections = 0  # accepted since the start
        self._refusing = False
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"proxy-{self.port}", daemon=True)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the proxy did not start")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def cut(self) -> None:
        """Close every connection through the proxy and refuse new ones until :meth:`restore`."""
        def cut_now() -> None:
            self._refusing = True
            for writer in list(self._writers):
                writer.transport.abort()
        self._loop.call_soon_threadsafe(cut_now)

    def restore(self) -> None:
        def restore_now() -> None:
            self._refusing = False
        self._loop.call_soon_threadsafe(restore_now)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", self.port))
        self._started.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            # The connections end by themselves once aborted; what does not within a few seconds is cancelled.
            tasks = asyncio.all_tasks(self._loop)
            if tasks:
                _, late = self._loop.run_until_complete(asyncio.wait(tasks, timeout=5))
                for task in late:
                    task.cancel()
                if late:
                    self._loop.run_until_complete(asyncio.wait(late, timeout=5))
            self._loop.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.connections += 1
        self._writers.update((writer, up_writer))
        try:
            await asyncio.gather(self._late_pipe(reader, up_writer), self._pipe(up_reader, writer, None))
        finally:
            for end in (writer, up_writer):
                self._writers.discard(end)
                end.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float | None) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(65536):
                pause = self.delay if delay is None else delay
                if pause:
                    await asyncio.sleep(pause)
                writer.write(chunk)
                await writer.drain()
        writer.transport.abort()

    async def _late_pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Client to server: each chunk delivered ``request_delay`` after it was read (order kept)."""
        due: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def deliver() -> None:
            while True:
                at, chunk = await due.get()
                if not chunk:
                    return
                if (wait := at - loop.time()) > 0:
                    await asyncio.sleep(wait)
                    self.delayed_chunks += 1
                writer.write(chunk)
                await writer.drain()

        sender = loop.create_task(deliver())
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(65536):
                due.put_nowait((loop.time() + self.request_delay, chunk))
        due.put_nowait((loop.time() + self.request_delay, b""))
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            await sender
        writer.transport.abort()
