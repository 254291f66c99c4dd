"""An AsyncClient request whose `content=` is an async iterator: the event loop pumps the
iterator's chunks into the request body while the request runs (called from the Rust core)."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterable, Awaitable, Callable


async def _pump(
    chunks: AsyncIterable[Any],
    send: Callable[[Any], Awaitable[None]],
    fail: Callable[[str], None],
    close: Callable[[], None],
) -> None:
    try:
        async for chunk in chunks:
            await send(chunk)
    except asyncio.CancelledError:
        raise
    except BaseException as exc:
        fail(f"{type(exc).__name__}: {exc}")
    finally:
        close()


async def send_with_body(
    pending: Awaitable[Any],
    chunks: AsyncIterable[Any],
    send: Callable[[Any], Awaitable[None]],
    fail: Callable[[str], None],
    close: Callable[[], None],
) -> Any:
    """Await the request while a task feeds it the body; the task ends with the request."""
    pump = asyncio.ensure_future(_pump(chunks, send, fail, close))
    try:
        return await pending
    finally:
        if not pump.done():
            pump.cancel()
            try:
                await pump
            except asyncio.CancelledError:
                pass
