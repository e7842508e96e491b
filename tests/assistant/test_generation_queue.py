"""The generation queue: a bounded number at once, the rest in line with a visible position."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from assistant.services.answering import STOPPED_UNWRITTEN, answer_stream
from assistant.services.generation_queue import GenerationQueue, Turn, generation_queue
from knowledge.models import Source
from tests.conftest import People


def eventually(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def waiting_in_thread(turn: Turn, seen: list[int]) -> threading.Thread:
    thread = threading.Thread(target=lambda: seen.extend(turn.wait()), daemon=True)
    thread.start()
    return thread


def test_generations_beyond_the_bound_wait_in_line_and_see_their_position_change() -> None:
    queue = GenerationQueue(slots=1)
    first, second, third = queue.turn(), queue.turn(), queue.turn()
    assert list(first.wait()) == []  # a free slot: no waiting at all
    second_saw: list[int] = []
    third_saw: list[int] = []
    second_thread = waiting_in_thread(second, second_saw)
    eventually(lambda: queue.waiting == 1)
    third_thread = waiting_in_thread(third, third_saw)
    eventually(lambda: third_saw == [2])

    first.release()
    second_thread.join(10)
    assert second.holding and second_saw == [1]
    eventually(lambda: third_saw == [2, 1])  # moved up the line
    assert not third.holding and queue.running == 1

    second.release()
    third_thread.join(10)
    assert third.holding and (queue.running, queue.waiting) == (1, 0)


def test_someone_who_gives_up_leaves_the_line() -> None:
    queue = GenerationQueue(slots=1)
    holder, quitter, patient = queue.turn(), queue.turn(), queue.turn()
    list(holder.wait())
    quitter_positions = quitter.wait()
    assert next(quitter_positions) == 1
    patient_saw: list[int] = []
    thread = waiting_in_thread(patient, patient_saw)
    eventually(lambda: patient_saw == [2])
    quitter_positions.close()  # the page was closed while waiting
    eventually(lambda: patient_saw == [2, 1])
    holder.release()
    thread.join(10)
    assert patient.holding


@pytest.mark.django_db
def test_a_refusal_never_waits_in_line_but_an_answer_does(people: People, demo: dict[str, Source]) -> None:
    busy = generation_queue().turn()
    list(busy.wait())  # someone else's answer is being generated
    try:
        refused = answer_stream(asked_by=people.charlie, question="What are the salary bands?")
        assert [event.kind for event in refused] == ["passages", "done"]

        events = answer_stream(asked_by=people.bob, question="How many days of annual leave do I get?")
        assert next(events).kind == "passages"
        queued = next(events)
        assert (queued.kind, queued.position) == ("queued", 1)
    finally:
        busy.release()
    rest = [event.kind for event in events]
    assert "token" in rest and rest[-1] == "done"


@pytest.mark.django_db
def test_an_answer_stopped_while_waiting_leaves_the_line_without_generating(
    people: People, demo: dict[str, Source]
) -> None:
    busy = generation_queue().turn()
    list(busy.wait())  # someone else's answer holds the only slot, and keeps it
    stop = threading.Event()
    try:
        events = answer_stream(
            asked_by=people.bob, question="How many days of annual leave do I get?", should_stop=stop.is_set
        )
        assert [next(events).kind, next(events).kind] == ["passages", "queued"]
        assert generation_queue().waiting == 1
        stop.set()  # the asker pressed Stop while still in line
        rest: list = []
        consumer = threading.Thread(target=lambda: rest.extend(events), daemon=True)
        consumer.start()
        consumer.join(timeout=15)  # without leaving the line, it would wait for the slot forever
        assert not consumer.is_alive(), "the stopped answer is still waiting in line"
    finally:
        busy.release()
    assert [event.kind for event in rest] == ["done"]  # no token: the model was never asked
    answer = rest[0].answer
    assert answer is not None and answer.stopped
    assert answer.text == STOPPED_UNWRITTEN  # not the refusal: the documents were never the problem
    assert generation_queue().waiting == 0
