"""Running the same request several times at the same moment, as double clicks and busy offices do."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def at_once(count: int, work: Callable[[], T]) -> list[T | BaseException]:
    """Run `work` in `count` threads released together; each thread's result, or the exception it raised."""
    start, outcomes, lock = threading.Barrier(count), [], threading.Lock()

    def run() -> None:
        start.wait()
        try:
            outcome = work()
        except Exception as exc:  # returned to the test, which says what it expected
            outcome = exc
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
