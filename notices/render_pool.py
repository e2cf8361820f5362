"""Laying out one chunk of a batch in more than one process.

WeasyPrint lays a document out in pure Python, on one core. A batch chunk is therefore cut into
consecutive slices: this process renders the first slice itself while helper processes render
the others, each slice as one document (laid out once, fonts subset once, split per notice).
The slices' results come back in order, so the notices and the combined pages keep the order
of the cases.

A helper is `python -m notices.render_pool` (`portal.helper_process`): it gets pickled
`RenderJob`s and answers each with a `RenderResult` (or the error); it never touches the
database. Helpers start with the batch's run when its chunks are big enough to share (at least
MIN_SLICE letters a process) and live as long as the pool (one run of the batch task). A helper
loads the project's settings module afresh: it needs none but the static files.

PORTAL_NOTICE_RENDER_PROCESSES sets how many processes render a chunk (this one included); by
default the number of CPUs, at most 4.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType

from django.conf import settings

from portal.helper_process import HelperError, HelperProcess, serve

from .rendering import FetchRefused, NoticePart, RenderJob, RenderResult, render_job

# A slice smaller than this is not worth a helper's round trip: the chunk renders here alone.
MIN_SLICE = 8


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


class _Helper(HelperProcess):
    """One render helper (`portal.helper_process`), answering RenderJobs with RenderResults."""

    def __init__(self) -> None:
        super().__init__("notices.render_pool", "notice render helper")

    def send(self, request: RenderJob) -> None:
        try:
            super().send(request)
        except HelperError as error:
            raise RenderHelperError(str(error)) from error

    def receive(self) -> RenderResult:
        try:
            result: RenderResult = super().receive()
        except HelperError as error:
            if error.kind == "FetchRefused":
                raise FetchRefused(error.detail) from None
            raise RenderHelperError(str(error)) from error
        return result


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


def main() -> None:
    from .rendering import run_render_job

    serve(run_render_job, warm_up=_warm_up)


def _warm_up() -> None:
    """Load the stylesheet and the CJK fonts (regular and bold) before the first job comes."""
    from django.utils.safestring import mark_safe

    from .rendering import run_render_job

    html = mark_safe('<section class="notice" id="warm-up" lang="zh-Hans"><h1>字</h1>字</section>')
    run_render_job(render_job([NoticePart("warm-up", "warm-up", html)], title="warm-up"))


if __name__ == "__main__":
    main()
