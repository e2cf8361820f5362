"""Run work on real threads released together: the concurrency tests' one way of racing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection

JOIN_TIMEOUT = 60


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0) … work(count-1) on threads that a barrier releases at the same moment; return
    each result or the exception it raised. Each thread closes its own database connection."""
    barrier = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            outcomes[index] = work(index)
        except BaseException as error:  # noqa: BLE001 - handed back to the test
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,), name=f"racer-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return outcomes
