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


def _replace(response: Any, hooks: Sequence[Callable[[Any], Any]]) -> Any:
    for hook in hooks:
        result = hook(response)
        if result is not None:
            response = result
    return response


def apply_response_hooks(response: Any, hooks: Sequence[Callable[[Any], Any]]) -> Any:
    """requests' `hooks={"response": [...]}`: each hook gets the response; one that returns
    something other than None replaces it (as requests' `dispatch_hook`)."""
    return _replace(response, hooks)


async def apply_response_hooks_async(pending: Awaitable[Any], hooks: Sequence[Callable[[Any], Any]]) -> Any:
    """The AsyncClient flavour: await the response, then run the hooks as above (a hook may
    return an awaitable, which is awaited)."""
    response = await pending
    for hook in hooks:
        result = hook(response)
        if inspect.isawaitable(result):
            result = await result
        if result is not None:
            response = result
    return response
