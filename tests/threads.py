"""Running one piece of test code on several threads at once."""

from __future__ import annotations

import threading
from collections.abc import Callable


def errors_in_threads(work: Callable[[], None], n: int) -> list[BaseException]:
    """Run ``work`` on ``n`` threads started together; the exceptions they raised (none: [])."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as e:  # collected for the caller to assert on
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors
