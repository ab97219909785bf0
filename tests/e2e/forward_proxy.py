"""A tiny real HTTP forward proxy on loopback (absolute-form requests, one per connection), for the tests
that check the crawler honours HTTP_PROXY / NO_PROXY. It records what it forwarded."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

HOP_BY_HOP = ("connection:", "keep-alive:", "proxy-connection:", "proxy-authorization:")


@dataclass
class ForwardProxy:
    """`http://127.0.0.1:{port}`; `forwarded` lists each request as `METHOD absolute-URL`."""

    port: int = 0
    forwarded: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Forward one request to the origin its absolute URL names, then pipe the answer back and close."""
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *lines = head.split("\r\n")
            method, target, version = request_line.split(" ", 2)
            origin = urlsplit(target)
            if method == "CONNECT" or origin.hostname is None:  # only plain-http forwarding is needed here
                writer.write(
                    b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                return
            self.forwarded.append(f"{method} {target}")
            path = origin.path + (f"?{origin.query}" if origin.query else "")
            kept = [line for line in lines if line and not line.lower().startswith(HOP_BY_HOP)]
            up_reader, up_writer = await asyncio.open_connection(origin.hostname, origin.port or 80)
            # One request per upstream connection: the answer ends when the origin closes it.
            up_writer.write(
                ("\r\n".join([f"{method} {path} {version}", *kept, "Connection: close"]) + "\r\n\r\n").encode(
                    "latin-1"
                )
            )
            upload = asyncio.create_task(_pipe(reader, up_writer))
            try:
                await _pipe(up_reader, writer)
            finally:
                upload.cancel()
                await asyncio.gather(upload, return_exceptions=True)
                up_writer.close()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    while chunk := await source.read(65536):
        sink.write(chunk)
        await sink.drain()


@contextlib.asynccontextmanager
async def running_proxy() -> AsyncIterator[ForwardProxy]:
    """Serve a ForwardProxy on a free loopback port for the duration of the block."""
    proxy = ForwardProxy()
    server = await asyncio.start_server(proxy.handle, "127.0.0.1", 0)
    proxy.port = server.sockets[0].getsockname()[1]
    try:
        yield proxy
    finally:
        server.close()
        await server.wait_closed()
