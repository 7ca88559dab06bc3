"""The client's messages read from stdin by the event loop itself, not by a thread.

pygls 2 reads stdin with blocking reads in a thread pool: one `run_in_executor` for each header
line, one for the blank line and one for the body, so every message crosses threads three
times (submit, wake the worker, read, hand the result back through the loop's self-pipe) before
it is even parsed. On a busy 2-core machine that was most of a hover's 1 ms at the client.

When stdin is a pipe or a socket, as when an editor starts the server, asyncio can watch it
directly (`connect_read_pipe`): a message is parsed as soon as `epoll` says it arrived, with no
thread involved. pygls' own message loop (`pygls.io_.run_async`) is kept, only its reader is
swapped. Anything else (a regular file or a terminal on stdin, stdin and stdout being one
socket, which non-blocking mode would change for both) keeps pygls' threaded reader, and so
does a failure to register the pipe with the loop.
"""
from __future__ import annotations

import asyncio
import logging

from pygls.io_ import StdinAsyncReader

from .early import loop_readable  # noqa: F401  (start_io asks; early.py runs before pygls)

log = logging.getLogger("nntutor.lsp")
LIMIT = 1 << 24  # bytes buffered before reading pauses (a didOpen of a big file is one message)


class PipeReader:
    """pygls' reader interface (`readline`, `readexactly`) over an asyncio stream on stdin."""

    def __init__(self, stdin, executor=None, prefix: bytes = b""):
        self.stdin = stdin
        self.executor = executor
        self.prefix = prefix  # read from stdin before (lsp/early.py): the first bytes to serve
        self.stream: asyncio.StreamReader | None = None
        self.fallback: StdinAsyncReader | _Prefixed | None = None

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        stream = asyncio.StreamReader(limit=LIMIT, loop=loop)
        try:
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream, loop=loop), self.stdin)
        except (OSError, ValueError) as exc:  # the loop cannot watch it after all
            log.info("stdin: %s; read by pygls' reader thread", exc)
            self.fallback = StdinAsyncReader(self.stdin, self.executor)
            if self.prefix:
                self.fallback = _Prefixed(self.prefix, self.fallback)
            return
        if self.prefix:
            stream.feed_data(self.prefix)  # before anything the pipe delivers from now on
        self.stream = stream

    async def readline(self) -> bytes:
        if self.stream is None and self.fallback is None:
            await self._connect()
        if self.fallback is not None:
            return await self.fallback.readline()
        return await self.stream.readline()  # b"" at end of input, as pygls expects

    async def readexactly(self, n: int) -> bytes:
        if self.fallback is not None:
            return await self.fallback.readexactly(n)
        try:
            return await self.stream.readexactly(n)
        except asyncio.IncompleteReadError:
            # The client left mid-message: the end of input, as for pygls' loop (which would
            # otherwise try to parse the torn message and log a JSON error first).
            return b""


class _Prefixed:
    """A reader that serves `prefix` before what `rest` reads."""

    def __init__(self, prefix: bytes, rest):
        self.prefix, self.rest = prefix, rest

    async def readline(self) -> bytes:
        cut = self.prefix.find(b"\n") + 1
        if cut:
            line, self.prefix = self.prefix[:cut], self.prefix[cut:]
            return line
        head, self.prefix = self.prefix, b""
        return head + await self.rest.readline()

    async def readexactly(self, n: int) -> bytes:
        head, self.prefix = self.prefix[:n], self.prefix[n:]
        if len(head) == n:
            return head
        tail = await self.rest.readexactly(n - len(head))
        return head + tail if tail else b""
