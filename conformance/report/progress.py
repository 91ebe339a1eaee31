"""A live progress line per state machine test, as pytest users expect of a long test.

A ci machine test is silent for 12-19 s (deep ones for minutes) between two of pytest's dots,
so while one runs the suite shows what it is doing: examples done of N, steps, rules
exercised, violations so far (`MachineStats.line`). How depends on where the output goes:

- a terminal: one line, rewritten in place at most every `LIVE_EVERY` seconds; it stays,
  final, when the test ends (pytest's own result follows on the next line);
- not a terminal (CI logs, a pipe): a plain line every `PLAIN_EVERY` seconds, and a final one;
- an xdist worker, whose output pytest does not own: plain lines on the worker's stderr,
  prefixed with the worker's id (the controller prints them as they come);
- `-q`: nothing.

The line is written with pytest's capture suspended, as pytest's live logging does.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TextIO

from conformance.machines.stats import MachineStats

LIVE_EVERY = 0.25  # seconds between two rewrites of a live line
PLAIN_EVERY = 10.0  # seconds between two plain lines


class Sink(Protocol):
    live: bool
    width: int  # columns a line may take (0: any)

    def show(self, text: str, first: bool) -> None: ...

    def end(self) -> None: ...


class Progress:
    """Shows one machine test's `MachineStats` on a sink, throttled; `done()` writes the final line."""

    def __init__(self, sink: Sink, clock: Callable[[], float] = time.monotonic) -> None:
        self.sink = sink
        self.clock = clock
        self.every = LIVE_EVERY if sink.live else PLAIN_EVERY
        self.started = clock()
        self.last: float | None = None  # when a line was last shown
        self.shown = 0

    def __call__(self, stats: MachineStats) -> None:
        now = self.clock()
        if now - (self.last if self.last is not None else self.started) >= self.every:
            self._show(stats.line(self.sink.width))
            self.last = now

    def done(self, stats: MachineStats) -> None:
        self._show(stats.line(self.sink.width))
        with contextlib.suppress(Exception):
            self.sink.end()

    def _show(self, text: str) -> None:
        with contextlib.suppress(Exception):  # cosmetic: a broken terminal must never fail the test
            self.sink.show(text, first=self.shown == 0)
        self.shown += 1


class TerminalSink:
    """pytest's own terminal (no xdist): rewritten in place on a TTY, one line per update otherwise.
    The lines go between the test's name (or its file's name) and its result; at the end pytest's
    line is started again, so that the result lands where pytest would have put it."""

    INDENT = "  "

    def __init__(self, reporter: Any, capture: Any, nodeid: str) -> None:
        self.reporter = reporter
        self.capture = capture
        self.nodeid = nodeid
        self.live = bool(reporter.isatty())
        self.width = max(reporter._tw.fullwidth - 1 - len(self.INDENT), 20) if self.live else 0

    def show(self, text: str, first: bool) -> None:
        tr = self.reporter
        text = self.INDENT + text
        with _uncaptured(self.capture):
            if first:
                tr.ensure_newline()  # end pytest's line (the file's name and its dots, or the test's name)
            if self.live:
                tr.rewrite(text[: len(self.INDENT) + self.width], erase=True)
            else:
                if not first:
                    tr.write("\n")
                tr.write(text)
            tr.currentfspath = None
            tr.flush()

    def end(self) -> None:
        """Start pytest's line again: with -v pytest writes the test's name before its result by
        itself (its current prefix is gone); without, the file's name is written here, as at
        the test's start, for the result's letter to follow."""
        tr = self.reporter
        with _uncaptured(self.capture):
            tr.currentfspath = None
            if not tr.showlongtestinfo and tr.showfspath:
                tr.write_fspath_result(self.nodeid, "")
            tr.flush()


class StreamSink:
    """A stream pytest does not own (an xdist worker's stderr): whole plain lines, prefixed.
    `stream` is looked up at each write, once pytest's capture is suspended (while a test runs,
    `sys.stderr` is pytest's capture)."""

    live = False
    width = 0

    def __init__(self, stream: Callable[[], TextIO], prefix: str, capture: Any) -> None:
        self.stream = stream
        self.prefix = prefix
        self.capture = capture

    def show(self, text: str, first: bool) -> None:
        with _uncaptured(self.capture):
            stream = self.stream()
            stream.write(f"{self.prefix}{text}\n")
            stream.flush()

    def end(self) -> None:
        pass


def sink_for(config: Any, nodeid: str) -> Sink | None:
    """Where this process shows progress, or None (`-q`, or no terminal to show it on)."""
    if config.get_verbosity() < 0:
        return None
    capture = config.pluginmanager.getplugin("capturemanager")
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return StreamSink(lambda: sys.stderr, f"[{workerinput.get('workerid', '?')}] ", capture)
    reporter = config.pluginmanager.getplugin("terminalreporter")
    if reporter is None:
        return None
    return TerminalSink(reporter, capture, nodeid)


@contextlib.contextmanager
def _uncaptured(capture: Any) -> Iterator[None]:
    if capture is None:
        yield
        return
    with capture.global_and_fixture_disabled():
        yield
