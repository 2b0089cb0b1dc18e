"""The main thread's render budget: SIGALRM interrupts a render at the deadline, again if the
render swallows it, never outside a render, and leaves whatever timer was there before."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from layoutserver.render.alarm import AlarmBudget, Overran, usable


@pytest.fixture(autouse=True)
def no_timer_left() -> Iterator[None]:
    yield
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def spin() -> None:
    """Pure Python that never ends on its own."""
    while True:
        pass


def test_a_render_running_past_the_deadline_is_interrupted_there() -> None:
    started = time.perf_counter()
    with AlarmBudget(started + 0.05) as budget, pytest.raises(Overran):
        budget.run(spin)
    assert 0.045 < time.perf_counter() - started < 1.0


def test_a_sleeping_render_is_interrupted_too() -> None:
    started = time.perf_counter()
    event = threading.Event()
    with AlarmBudget(started + 0.05) as budget, pytest.raises(Overran):
        budget.run(lambda: event.wait(5))
    assert time.perf_counter() - started < 1.0


def test_a_render_that_swallows_the_interrupt_is_interrupted_again() -> None:
    caught = []

    def stubborn() -> None:
        try:
            spin()
        except BaseException as exc:
            caught.append(exc)
        spin()

    with AlarmBudget(time.perf_counter() + 0.02) as budget, pytest.raises(Overran):
        budget.run(stubborn)
    assert len(caught) == 1 and isinstance(caught[0], Overran)


def test_an_error_raised_while_cleaning_up_after_the_interrupt_is_still_an_overrun() -> None:
    def cleanup_fails() -> None:
        try:
            spin()
        finally:
            raise RuntimeError("could not reset the connection")

    with AlarmBudget(time.perf_counter() + 0.02) as budget, pytest.raises(Overran) as raised:
        budget.run(cleanup_fails)
    assert isinstance(raised.value.__cause__, RuntimeError)


def test_a_task_that_fails_on_its_own_raises_its_error() -> None:
    def fails() -> None:
        raise RuntimeError("boom")

    with AlarmBudget(time.perf_counter() + 5) as budget, pytest.raises(RuntimeError, match="boom"):
        budget.run(fails)


def test_tasks_within_the_budget_return_their_results() -> None:
    with AlarmBudget(time.perf_counter() + 5) as budget:
        assert [budget.run(lambda n=n: n * 2) for n in range(3)] == [0, 2, 4]


def test_no_interrupt_outside_a_task_and_no_task_started_after_the_deadline() -> None:
    started = []
    with AlarmBudget(time.perf_counter() + 0.01) as budget:
        time.sleep(0.05)  # the timer fires here, while no task runs: nothing is raised
        assert budget.spent
        with pytest.raises(Overran):
            budget.run(lambda: started.append(1))
    assert started == []


def test_the_previous_handler_and_timer_are_put_back() -> None:
    fired = []

    def previous(signum: int, frame: Any) -> None:
        fired.append(signum)

    old = signal.signal(signal.SIGALRM, previous)
    try:
        signal.setitimer(signal.ITIMER_REAL, 1.0)
        with AlarmBudget(time.perf_counter() + 0.02) as budget, pytest.raises(Overran):
            budget.run(spin)
        assert signal.getsignal(signal.SIGALRM) is previous
        left, _interval = signal.getitimer(signal.ITIMER_REAL)
        assert 0.3 < left < 0.98  # what it had left, less the time the budget held the timer
        time.sleep(left + 0.3)
        assert fired == [signal.SIGALRM]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_usable_only_on_the_main_thread_and_not_inside_a_budget() -> None:
    assert usable()
    seen = []
    thread = threading.Thread(target=lambda: seen.append(usable()))
    thread.start()
    thread.join()
    assert seen == [False]
    with AlarmBudget(time.perf_counter() + 5):
        assert not usable()
    assert usable()
