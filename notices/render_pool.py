"""Laying out one chunk of a batch in more than one process.

WeasyPrint lays a document out in pure Python, on one core. A batch chunk is therefore cut into
consecutive slices: this process renders the first slice itself while helper processes render
the others, each slice as one document (laid out once, fonts subset once, split per notice).
The slices' results come back in order, so the notices and the combined pages keep the order
of the cases.

A helper is `python -m notices.render_pool`, started with `subprocess` (django-q2's workers are
daemonic processes, which `multiprocessing` refuses to give children). It reads pickled
`RenderJob`s on stdin and answers each with a pickled `RenderResult` (or the error) on its
stdout; it never touches the database. It ends when its stdin closes, so a helper whose parent
died (a killed task) stops by itself. Helpers start with the batch's run when its chunks are big
enough to share (at least MIN_SLICE letters a process) and live as long as the pool (one run of
the batch task). A helper loads the project's settings module afresh: settings changed in the
running process (tests' overrides) do not reach it, and it needs none but the static files.

PORTAL_NOTICE_RENDER_PROCESSES sets how many processes render a chunk (this one included); by
default the number of CPUs, at most 4.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import IO, Any

from django.conf import settings

from .rendering import FetchRefused, NoticePart, RenderJob, RenderResult, render_job

# A slice smaller than this is not worth a helper's round trip: the chunk renders here alone.
MIN_SLICE = 8
# How long a helper is given to finish after its stdin closes.
STOP_SECONDS = 10


class RenderHelperError(RuntimeError):
    """A helper process failed or died while rendering."""


def render_processes() -> int:
    """How many processes render a chunk: PORTAL_NOTICE_RENDER_PROCESSES, by default the
    number of CPUs (at most 4); 1 renders everything in this process."""
    return max(1, int(settings.PORTAL_NOTICE_RENDER_PROCESSES))


def slice_sizes(letters: int, processes: int) -> list[int]:
    """`letters` cut into at most `processes` slices of nearly equal size, none smaller than
    MIN_SLICE (one slice when the chunk is small)."""
    count = max(1, min(processes, letters // MIN_SLICE))
    size, extra = divmod(letters, count)
    return [size + (1 if index < extra else 0) for index in range(count)]


def slices(parts: Sequence[NoticePart], processes: int) -> list[list[NoticePart]]:
    """The parts cut into consecutive slices of `slice_sizes`."""
    out: list[list[NoticePart]] = []
    start = 0
    for size in slice_sizes(len(parts), processes):
        out.append(list(parts[start : start + size]))
        start += size
    return out


class _Helper:
    """One helper process and its pipes."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "notices.render_pool"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=settings.BASE_DIR,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": _settings_module()},
        )
        self.busy = False

    def send(self, job: RenderJob) -> None:
        assert self.process.stdin is not None
        try:
            pickle.dump(job, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.process.stdin.flush()
        except OSError as error:  # BrokenPipeError: the helper died
            raise RenderHelperError(f"notice render helper is gone: {error}") from error
        self.busy = True

    def receive(self) -> RenderResult:
        assert self.process.stdout is not None
        try:
            answer = pickle.load(self.process.stdout)
        except (EOFError, OSError, pickle.UnpicklingError) as error:
            code = self.process.poll()
            raise RenderHelperError(
                f"notice render helper stopped without an answer (exit code {code})"
            ) from error
        self.busy = False
        if answer[0] == "ok":
            return answer[1]  # type: ignore[no-any-return]
        _, kind, message = answer
        if kind == "FetchRefused":
            raise FetchRefused(message)
        raise RenderHelperError(f"{kind}: {message}")

    def stop(self, *, kill: bool) -> None:
        process = self.process
        if process.stdin is not None and not process.stdin.closed:
            try:
                process.stdin.close()
            except OSError:
                pass
        if kill or self.busy:  # a helper still rendering for nobody is ended now
            process.kill()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _settings_module() -> str:
    return os.environ.get("DJANGO_SETTINGS_MODULE") or "portal.settings"


class RenderPool:
    """Up to `processes - 1` helper processes for `render_slices`.

    Use it as a context manager: leaving it ends the helpers (killed when leaving by an error,
    so none renders on for nobody)."""

    def __init__(self, processes: int | None = None) -> None:
        self.processes = render_processes() if processes is None else max(1, processes)
        self._helpers: list[_Helper] = []

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close(kill=kind is not None)

    def close(self, *, kill: bool = False) -> None:
        helpers, self._helpers = self._helpers, []
        for helper in helpers:
            helper.stop(kill=kill)

    def slices(self, parts: Sequence[NoticePart]) -> list[list[NoticePart]]:
        return slices(parts, self.processes)

    def expect(self, letters: int) -> None:
        """Start now the helpers a chunk of `letters` will use: they set up (Django, the
        fonts) while this process reads the chunk's cases."""
        self._grow(len(slice_sizes(letters, self.processes)) - 1)

    def _grow(self, helpers: int) -> None:
        while len(self._helpers) < helpers:
            self._helpers.append(_Helper())

    def start(self, jobs: Sequence[RenderJob]) -> list[_Helper]:
        """Hand each job to a helper (started when needed); the helpers now working on them."""
        self._grow(len(jobs))
        working = self._helpers[: len(jobs)]
        for helper, job in zip(working, jobs, strict=True):
            helper.send(job)
        return working


def render_slices(
    pool: RenderPool | None,
    parts: Sequence[NoticePart],
    *,
    title: str,
    render_here: Callable[..., RenderResult],
) -> list[RenderResult]:
    """The parts rendered in consecutive slices, the first by `render_here(slice, title=...)`
    in this process and the others by the pool's helpers, at the same time; in order."""
    cut = pool.slices(parts) if pool is not None else [list(parts)]
    working = []
    if pool is not None and len(cut) > 1:
        working = pool.start([render_job(part, title=title) for part in cut[1:]])
    results = [render_here(cut[0], title=title)]
    results.extend(helper.receive() for helper in working)
    return results


# --- the helper process ------------------------------------------------------------------


def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    from .rendering import run_render_job

    while True:
        try:
            job = pickle.load(requests)
        except EOFError:
            return
        try:
            answer: tuple[Any, ...] = ("ok", run_render_job(job))
        except Exception as error:
            answer = ("error", type(error).__name__, str(error)[:2000])
        try:
            pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
            answers.flush()
        except BrokenPipeError:  # the parent is gone
            return


def main() -> None:
    # The answers go out on the original stdout; anything printed while working goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    _warm_up()
    _serve(sys.stdin.buffer, answers)


def _warm_up() -> None:
    """Load the stylesheet and the CJK fonts (regular and bold) before the first job comes."""
    from django.utils.safestring import mark_safe

    from .rendering import run_render_job

    html = mark_safe('<section class="notice" id="warm-up" lang="zh-Hans"><h1>字</h1>字</section>')
    run_render_job(render_job([NoticePart("warm-up", "warm-up", html)], title="warm-up"))


if __name__ == "__main__":
    main()
