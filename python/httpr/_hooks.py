"""Event hooks around one AsyncClient request (called from the Rust core).

Hooks may be plain callables or coroutine functions; their return values are ignored.
"""

from __future__ import annotations

import inspect
from typing import Any, Awaitable, Callable, Sequence


async def run_async(
    request: Any,
    request_hooks: Sequence[Callable[[Any], Any]],
    response_hooks: Sequence[Callable[[Any], Any]],
    send: Callable[[], Awaitable[Any]],
) -> Any:
    for hook in request_hooks:
        result = hook(request)
        if inspect.isawaitable(result):
            await result
    response = await send()
    try:
        for hook in response_hooks:
            result = hook(response)
            if inspect.isawaitable(result):
                await result
    except BaseException:
        # A streamed response nobody will enter: release its connection now.
        aclose = getattr(response, "aclose", None)
        if aclose is not None:
            await aclose()
        raise
    return response
