"""Progress of long work (whole-dataset predictions, attacks, re-predictions, timing sweeps).

A check never draws anything itself: it iterates through ``context.progress(items, "attack")``
(or the runtime wraps a model call), and the session's :class:`Progress` decides whether and
where a bar appears. The front end picks it: pytest draws through its own terminal with capture
suspended (:mod:`modeltests.plugin`), :func:`modeltests.run` on standard error, and both stay
silent under ``-q``, when the output is not a terminal, and in CI logs (``CI`` set).

A bar appears only for work that lasts longer than :data:`DELAY_S`, redraws at most every
:data:`INTERVAL_S`, and is erased when the work ends, so the output of a run with bars reads
exactly as the output of a run without them. Work started while a bar is shown (the model calls
of an attack) is counted by the outer bar only.
"""

from __future__ import annotations

import os
import sys
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import (Callable, ContextManager, Iterable, Iterator, Mapping, Protocol, Sized, TextIO,
                    TypeVar)

T = TypeVar("T")

DELAY_S = 0.5
"""Work that ends sooner draws no bar."""
INTERVAL_S = 0.2
"""Least time between two redraws of a bar."""
BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]"


class Task(Protocol):
    """A unit of work being counted: ``advance(n)`` as parts finish, ``close()`` at the end."""

    def advance(self, n: int = 1) -> None: ...

    def close(self) -> None: ...


class Progress(ABC):
    """Where the session shows progress. :meth:`start` a task, or :meth:`track` an iterable."""

    @abstractmethod
    def start(self, description: str, total: int | None = None) -> Task:
        """A task of ``total`` parts (unknown when None), shown as ``description``."""

    def track(self, iterable: Iterable[T], description: str, total: int | None = None
              ) -> Iterator[T]:
        """Yield the items of ``iterable``, counting each one as a part of the task."""
        if total is None and isinstance(iterable, Sized):
            total = len(iterable)
        task = self.start(description, total)
        try:
            for item in iterable:
                yield item
                task.advance(1)
        finally:
            task.close()


class _Idle:
    def advance(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class Silent(Progress):
    """Shows nothing (the default, and what tests of a check use)."""

    def start(self, description: str, total: int | None = None) -> Task:
        return _Idle()


_SHOWING: ContextVar[Progress | None] = ContextVar("modeltests_progress", default=None)


@contextmanager
def showing(progress: Progress) -> Iterator[None]:
    """Within the block, :func:`current` is ``progress``: work that cannot be handed the
    session's progress (a built-in model's build, called through the registry) still draws
    through it, e.g. through pytest's terminal."""
    token = _SHOWING.set(progress)
    try:
        yield
    finally:
        _SHOWING.reset(token)


def current() -> Progress:
    """The progress set by :func:`showing`, else one bar on standard error (shown only when it
    is a terminal: :func:`wanted`)."""
    return _SHOWING.get() or LineProgress(StreamTerminal(sys.stderr))


class Terminal(Protocol):
    """What a bar needs of a terminal. ``column()`` is where the cursor stands on the current
    line (0: at its start); ``suspended()`` lets the write through output capture."""

    def enabled(self) -> bool: ...

    def write(self, text: str) -> None: ...

    def width(self) -> int: ...

    def column(self) -> int: ...

    def suspended(self) -> ContextManager[object]: ...


def wanted(isatty: bool, verbosity: int = 0, environ: Mapping[str, str] | None = None) -> bool:
    """Whether bars belong on this output: a terminal, not ``-q``, not CI, not a dumb terminal."""
    environ = os.environ if environ is None else environ
    return (isatty and verbosity >= 0 and not environ.get("CI")
            and environ.get("TERM", "") != "dumb")


class LineProgress(Progress):
    """One bar on one terminal line, erased when its task ends.

    When the cursor stands inside a line (pytest's ``suites/x.yaml ..``), the bar is drawn on the
    line below and the cursor is put back where it was afterwards (ANSI cursor movement), so the
    line pytest is writing continues as if no bar had been shown.
    """

    def __init__(self, terminal: Terminal, delay: float = DELAY_S, interval: float = INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.terminal = terminal
        self.delay = delay
        self.interval = interval
        self.clock = clock
        self.active: _Bar | None = None

    def start(self, description: str, total: int | None = None) -> Task:
        if self.active is not None or not self.terminal.enabled():
            return _Idle()  # an inner task: the outer bar stands for it
        self.active = _Bar(self, description, total)
        return self.active


class _Bar:
    def __init__(self, owner: LineProgress, description: str, total: int | None) -> None:
        self.owner = owner
        self.description = description
        self.total = total
        self.done = 0
        self.started = owner.clock()
        self.drawn_at: float | None = None
        self.below = False
        self.column = 0

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = self.owner.clock()
        if now - self.started < self.owner.delay:
            return
        if self.drawn_at is not None and now - self.drawn_at < self.owner.interval:
            return
        self._draw(now)

    def _draw(self, now: float) -> None:
        from tqdm import tqdm

        terminal = self.owner.terminal
        width = max(20, terminal.width() - 1)
        description = self.description
        if len(description) > width - 40:  # keep room for the bar and the counts
            description = description[: max(0, width - 41)] + "…"
        shape = (BAR_FORMAT if self.total else "{desc}: {n_fmt} done [{elapsed}]")
        line = tqdm.format_meter(self.done, self.total, now - self.started, ncols=width,
                                 prefix=description, bar_format=shape)
        head = ""
        if self.drawn_at is None:
            self.column = terminal.column()
            self.below = self.column > 0
            head = "\n" if self.below else ""
        with terminal.suspended():
            terminal.write(f"{head}\r{line[:width]}\x1b[K")
        self.drawn_at = now

    def close(self) -> None:
        if self.owner.active is self:
            self.owner.active = None
        if self.drawn_at is None:
            return
        back = "\r\x1b[K"
        if self.below:
            back += "\x1b[1A" + (f"\x1b[{self.column}C" if self.column else "")
        with self.owner.terminal.suspended():
            self.owner.terminal.write(back)


class StreamTerminal:
    """A terminal on a text stream (standard error for :func:`modeltests.run`): bars only when
    the stream is a terminal and the environment wants them (:func:`wanted`)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def enabled(self) -> bool:
        try:
            return wanted(self.stream.isatty())
        except (AttributeError, ValueError):  # a replaced or closed stream
            return False

    def write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def width(self) -> int:
        import shutil

        return shutil.get_terminal_size().columns

    def column(self) -> int:
        return 0

    def suspended(self) -> ContextManager[object]:
        return nullcontext()
