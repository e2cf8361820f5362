"""Helper processes: work handed to `python -m <module>` children, for jobs whose Python runs
longer than one core can carry (laying out notices, closing a business day).

A helper is started with `subprocess`, not `multiprocessing`: django-q2's workers are daemonic
processes, which `multiprocessing` refuses to give children. The parent writes pickled requests
to the helper's stdin and reads one pickled answer per request from its stdout: `("ok", value)`
or `("error", kind, message)`. The helper (`serve`) prints nothing else there (its stdout goes to
stderr), and ends when its stdin closes, so a helper whose parent died stops by itself after
the request in hand. It loads the project's settings module afresh: settings changed in the
running process (tests' overrides) do not reach it.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from typing import IO, Any

from django.conf import settings

# How long a helper is given to finish after its stdin closes.
STOP_SECONDS = 10


class HelperError(RuntimeError):
    """A helper process failed, died, or answered with an error."""

    def __init__(self, message: str, *, kind: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.kind, self.detail = kind, detail  # the helper's error: its class name and text


def settings_module() -> str:
    return os.environ.get("DJANGO_SETTINGS_MODULE") or "portal.settings"


class HelperProcess:
    """One helper process and its pipes; `name` says what it is in errors."""

    def __init__(self, module: str, name: str) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, "-m", module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=settings.BASE_DIR,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": settings_module()},
        )
        self.busy = False

    def send(self, request: Any) -> None:
        assert self.process.stdin is not None
        try:
            pickle.dump(request, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.process.stdin.flush()
        except OSError as error:  # BrokenPipeError: the helper died
            raise HelperError(f"{self.name} is gone: {error}") from error
        self.busy = True

    def receive(self) -> Any:
        """The answer to the request sent last; HelperError carries an error's kind and text."""
        assert self.process.stdout is not None
        try:
            answer = pickle.load(self.process.stdout)
        except (EOFError, OSError, pickle.UnpicklingError) as error:
            code = self.process.poll()
            raise HelperError(f"{self.name} stopped without an answer (exit code {code})") from error
        self.busy = False
        if answer[0] == "ok":
            return answer[1]
        _, kind, message = answer
        raise HelperError(f"{kind}: {message}", kind=kind, detail=message)

    def ask(self, request: Any) -> Any:
        self.send(request)
        return self.receive()

    def stop(self, *, kill: bool) -> None:
        process = self.process
        if process.stdin is not None and not process.stdin.closed:
            try:
                process.stdin.close()
            except OSError:
                pass
        if kill or self.busy:  # a helper still working for nobody is ended now
            process.kill()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def serve(handle: Callable[[Any], Any], *, warm_up: Callable[[], None] | None = None) -> None:
    """A helper's main loop: set Django up, then answer each request with `handle(request)`."""
    # The answers go out on the original stdout; anything printed while working goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    if warm_up is not None:
        warm_up()
    _answer_each(handle, sys.stdin.buffer, answers)


def _answer_each(handle: Callable[[Any], Any], requests: IO[bytes], answers: IO[bytes]) -> None:
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        try:
            answer: tuple[Any, ...] = ("ok", handle(request))
        except Exception as error:
            answer = ("error", type(error).__name__, str(error)[:2000])
        try:
            pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
            answers.flush()
        except BrokenPipeError:  # the parent is gone
            return
