"""A bounded number of generations at once; the rest wait in line and can see their place.

On a CPU, two generations sharing the cores each run at half speed, so a second asker gains
nothing by starting at once and the first loses a lot; a line with a visible position is the
honest alternative. The bound is per process (ENCLAVE_ANSWERS_AT_ONCE): one web process holds one
local model. A deployment that scales generation out (ENCLAVE_LLM_URL) raises it to what its
inference servers can take.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator

from django.conf import settings

# Waiters wake at least this often, so a position is re-checked even if a notify is missed.
RECHECK_SECONDS = 1.0


class GenerationQueue:
    def __init__(self, slots: int) -> None:
        self.slots = slots
        self._changed = threading.Condition()
        self._waiting: deque[Turn] = deque()
        self._running = 0

    def turn(self) -> Turn:
        """A place in line, taken only when ``Turn.wait`` is first iterated."""
        return Turn(self)

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._waiting)

    @property
    def running(self) -> int:
        with self._changed:
            return self._running


class Turn:
    def __init__(self, queue: GenerationQueue) -> None:
        self._queue = queue
        self.holding = False

    def wait(self, should_leave: Callable[[], bool] = lambda: False) -> Generator[int, None, None]:
        """Yield this turn's position in line (1 = next) each time it changes, and return once a
        generation slot is ours. Does nothing when the slot is already held. ``should_leave`` is
        asked at every recheck: when it says so, the turn leaves the line and returns without the
        slot (``holding`` stays False)."""
        if self.holding:
            return
        queue = self._queue
        with queue._changed:
            queue._waiting.append(self)
        try:
            shown = 0
            while True:
                with queue._changed:
                    position = self._position()
                    if position == 0:
                        queue._waiting.popleft()
                        queue._running += 1
                        self.holding = True
                        return
                    unchanged = position == shown
                    if unchanged:
                        queue._changed.wait(RECHECK_SECONDS)
                if unchanged:
                    if should_leave():  # outside the lock: it may query the database
                        return
                    continue
                shown = position
                yield position  # outside the lock: the caller may take its time sending it
        finally:
            if not self.holding:
                self._leave_line()

    def _position(self) -> int:
        """0 when this turn may start now, otherwise its place among those waiting."""
        queue = self._queue
        place = queue._waiting.index(self)
        if place == 0 and queue._running < queue.slots:
            return 0
        return place + 1

    def _leave_line(self) -> None:
        # An asker who gave up (closed the page) must not hold up everyone behind them.
        with self._queue._changed:
            if self in self._queue._waiting:
                self._queue._waiting.remove(self)
            self._queue._changed.notify_all()

    def release(self) -> None:
        if not self.holding:
            return
        with self._queue._changed:
            self._queue._running -= 1
            self.holding = False
            self._queue._changed.notify_all()


_queue: GenerationQueue | None = None
_queue_lock = threading.Lock()


def generation_queue() -> GenerationQueue:
    global _queue
    with _queue_lock:
        # A changed setting (tests override it) starts a new line; answers already running finish.
        if _queue is None or _queue.slots != settings.ENCLAVE_ANSWERS_AT_ONCE:
            _queue = GenerationQueue(settings.ENCLAVE_ANSWERS_AT_ONCE)
        return _queue
