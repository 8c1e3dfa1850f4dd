"""Progress bars: drawn after a delay, throttled, erased at the end, the cursor put back where
pytest left it; nested work counted by the outer bar; none off a terminal, under -q or in CI."""

from __future__ import annotations

from contextlib import nullcontext
from typing import ContextManager

from modeltests.support.progress import LineProgress, Silent, StreamTerminal, wanted


class FakeTerminal:
    def __init__(self, column: int = 0, on: bool = True) -> None:
        self.written: list[str] = []
        self.suspensions = 0
        self._column = column
        self.on = on

    def enabled(self) -> bool:
        return self.on

    def write(self, text: str) -> None:
        self.written.append(text)

    def width(self) -> int:
        return 100

    def column(self) -> int:
        return self._column

    def suspended(self) -> ContextManager[object]:
        self.suspensions += 1
        return nullcontext()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_short_work_draws_nothing() -> None:
    terminal, clock = FakeTerminal(), Clock()
    progress = LineProgress(terminal, clock=clock)
    for _ in progress.track(range(10), "eval: predicting"):
        clock.now += 0.01
    assert terminal.written == []


def test_a_bar_on_the_line_below_then_the_cursor_goes_back() -> None:
    terminal, clock = FakeTerminal(column=25), Clock()
    progress = LineProgress(terminal, clock=clock)
    task = progress.start("eval: predicting 600 texts", 600)
    clock.now = 1.0
    task.advance(300)
    clock.now = 1.05  # within the redraw interval: no redraw
    task.advance(32)
    task.close()
    first, last = terminal.written
    assert first.startswith("\n\reval: predicting 600 texts:  50%")
    assert first.endswith("300/600 [00:01<00:01]\x1b[K")
    assert len(first.split("\r")[1].removesuffix("\x1b[K")) <= 99
    assert last == "\r\x1b[K\x1b[1A\x1b[25C"  # erased, up one line, back to column 25
    assert terminal.suspensions == 2


def test_at_the_start_of_a_line_the_bar_stays_on_it() -> None:
    terminal, clock = FakeTerminal(column=0), Clock()
    task = LineProgress(terminal, clock=clock).start("attacking", None)
    clock.now = 2.0
    task.advance()
    task.close()
    assert terminal.written[0].startswith("\rattacking: 1")
    assert terminal.written[-1] == "\r\x1b[K"


def test_inner_work_is_counted_by_the_outer_bar_only() -> None:
    terminal, clock = FakeTerminal(), Clock()
    progress = LineProgress(terminal, clock=clock)
    for _ in progress.track(range(3), "robustness[x]: attacking"):
        inner = progress.start("robustness[x]: predicting 5 texts", 5)
        clock.now += 1.0
        inner.advance(5)
        inner.close()
    drawn = [w for w in terminal.written if "%" in w]
    assert drawn and all("attacking" in w for w in drawn)
    assert progress.active is None


def test_a_new_task_after_the_first_can_draw() -> None:
    terminal, clock = FakeTerminal(), Clock()
    progress = LineProgress(terminal, clock=clock)
    list(progress.track([1], "first"))
    task = progress.start("second", 2)
    clock.now = 5.0
    task.advance()
    assert "second" in terminal.written[-1]


def test_disabled_terminal_and_silent_progress_draw_nothing() -> None:
    terminal, clock = FakeTerminal(on=False), Clock()
    task = LineProgress(terminal, clock=clock).start("x", 1)
    clock.now = 9.0
    task.advance()
    task.close()
    assert terminal.written == []
    assert list(Silent().track([1, 2], "x")) == [1, 2]


def test_bars_only_on_a_terminal_without_q_outside_ci() -> None:
    assert wanted(True, 0, {})
    assert wanted(True, 2, {"TERM": "xterm"})
    assert not wanted(False, 0, {})
    assert not wanted(True, -1, {})
    assert not wanted(True, 0, {"CI": "true"})
    assert not wanted(True, 0, {"TERM": "dumb"})


def test_a_stream_that_is_not_a_terminal_gets_no_bars(tmp_path: object) -> None:
    import io

    assert not StreamTerminal(io.StringIO()).enabled()
