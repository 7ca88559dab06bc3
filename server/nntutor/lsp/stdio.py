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
import os
import stat

from pygls.io_ import StdinAsyncReader

log = logging.getLogger("nntutor.lsp")
LIMIT = 1 << 24  # bytes buffered before reading pauses (a didOpen of a big file is one message)


def loop_readable(stdin, stdout) -> bool:
    """Whether `stdin` can be read by the event loop without changing anything else."""
    try:
        st = os.fstat(stdin.fileno())
    except (AttributeError, OSError, ValueError):
        return False
    if not (stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode)):
        return False
    try:
        out = os.fstat(stdout.fileno())
    except (AttributeError, OSError, ValueError):
        return True
    # The loop sets O_NONBLOCK on stdin's open file; stdout must not be that same file.
    return (out.st_dev, out.st_ino) != (st.st_dev, st.st_ino)


class PipeReader:
    """pygls' reader interface (`readline`, `readexactly`) over an asyncio stream on stdin."""

    def __init__(self, stdin, executor=None):
        self.stdin = stdin
        self.executor = executor
        self.stream: asyncio.StreamReader | None = None
        self.fallback: StdinAsyncReader | None = None

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        stream = asyncio.StreamReader(limit=LIMIT, loop=loop)
        try:
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream, loop=loop), self.stdin)
        except (OSError, ValueError) as exc:  # the loop cannot watch it after all
            log.info("stdin: %s; read by pygls' reader thread", exc)
            self.fallback = StdinAsyncReader(self.stdin, self.executor)
            return
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
