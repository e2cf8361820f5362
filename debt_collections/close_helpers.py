"""The close of business's chunks in helper processes (`portal.helper_process`).

Python runs one thread of a process at a time, and the close spends most of its time in Python
(the rules, reading and writing rows), the rest waiting for the database. A helper,
`python -m debt_collections.close_helpers`, closes chunks beside the close's own process, on
another core: it connects to the database the close uses (its first request names it) and
closes each chunk it is handed exactly as the close does (`close_of_business.commit_chunk`: the
chunk's work and its counts on the run row, in one transaction).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import connection

from portal.helper_process import HelperProcess, serve

# The connection settings a helper takes from the close (its settings module names the same
# server, but tests use a database of their own).
_DATABASE_KEYS = ("NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


class CloseHelper(HelperProcess):
    def __init__(self) -> None:
        super().__init__("debt_collections.close_helpers", "close-of-business helper")
        # Answered once the helper is set up; read before its first chunk, not waited for here.
        self.send(("database", {key: connection.settings_dict[key] for key in _DATABASE_KEYS}))
        self._setting_up = True

    def close_chunk(self, ids: Sequence[int], *, run_id: int, step: str, business_date: dt.date) -> None:
        if self._setting_up:
            self.receive()
            self._setting_up = False
        self.ask(("chunk", run_id, step, list(ids), business_date))


def _handle(request: tuple[Any, ...]) -> None:
    if request[0] == "database":
        from django.db import connections

        connections["default"].settings_dict.update(request[1])
        return
    _, run_id, step, ids, business_date = request
    from .close_of_business import commit_chunk

    commit_chunk(run_id=run_id, step=step, ids=ids, business_date=business_date)


if __name__ == "__main__":
    serve(_handle)
