"""The main thread's render budget: SIGALRM interrupts a render at the deadline, again if the
render swallows it, never outside a render, inside a shield or inside the standard library's
lock plumbing, and leaves whatever timer was there before."""

from __future__ import annotations

import contextlib
import io
import logging
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from layoutserver.render.alarm import AlarmBudget, Overran, checked_out, shielded, usable


@pytest.fixture(autouse=True)
def no_timer_left() -> Iterator[None]:
    yield
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def spin() -> None:
    """Pure Python that never ends on its own."""
    while True:
        pass


def spin_for(seconds: float) -> None:
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
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


def test_an_alarm_inside_a_shield_raises_as_the_shield_is_left_not_inside() -> None:
    reached = []

    def shielded_work() -> None:
        with shielded():
            spin_for(0.06)  # the deadline passes in here
            reached.append("end of the shield")
        reached.append("after the shield")

    started = time.perf_counter()
    with AlarmBudget(started + 0.01) as budget, pytest.raises(Overran):
        budget.run(shielded_work)
    assert reached == ["end of the shield"]
    assert time.perf_counter() - started >= 0.06


def test_shields_nest_and_only_the_outermost_raises() -> None:
    reached = []

    def nested() -> None:
        with shielded():
            with shielded():
                spin_for(0.04)
            reached.append("left the inner shield")
            spin_for(0.01)
            reached.append("end of the outer shield")
        reached.append("after both")

    with AlarmBudget(time.perf_counter() + 0.01) as budget, pytest.raises(Overran):
        budget.run(nested)
    assert reached == ["left the inner shield", "end of the outer shield"]


def test_a_shield_left_before_the_deadline_changes_nothing_and_neither_does_one_elsewhere() -> None:
    with shielded():  # no budget: nothing to defer
        pass
    entered, leave = threading.Event(), threading.Event()

    def shield_on_a_render_thread() -> None:
        with shielded():
            entered.set()
            leave.wait(5)

    thread = threading.Thread(target=shield_on_a_render_thread)
    thread.start()
    try:
        assert entered.wait(5)
        started = time.perf_counter()

        def shielded_then_spin() -> None:
            with shielded():
                pass
            spin()

        with AlarmBudget(started + 0.02) as budget, pytest.raises(Overran):
            budget.run(shielded_then_spin)  # the other thread's shield does not hold it off
        assert time.perf_counter() - started < 0.5
    finally:
        leave.set()
        thread.join()


def test_a_checkout_the_deadline_passed_in_is_given_back_before_the_overrun() -> None:
    given_back: list[str] = []

    def take() -> str:
        spin_for(0.03)
        return "connection"

    with AlarmBudget(time.perf_counter() + 0.01) as budget, pytest.raises(Overran):
        budget.run(lambda: checked_out(take, given_back.append))
    assert given_back == ["connection"]
    # inside an outer shield the caller keeps it; the outer shield raises
    kept = []

    def inside_a_shield() -> None:
        with shielded():
            kept.append(checked_out(take, given_back.append))

    given_back.clear()
    with AlarmBudget(time.perf_counter() + 0.01) as budget, pytest.raises(Overran):
        budget.run(inside_a_shield)
    assert (kept, given_back) == (["connection"], [])
    with AlarmBudget(time.perf_counter() + 5) as budget:
        assert budget.run(lambda: checked_out(lambda: "in time", given_back.append)) == "in time"
    assert given_back == []


def logging_for_ever() -> tuple[Callable[[], None], Any]:
    handler = logging.StreamHandler(io.StringIO())
    logger = logging.getLogger("layoutserver.tests.alarm")
    logger.addHandler(handler)
    logger.propagate = False

    def log() -> None:
        while True:
            logger.warning("a line from a render")
            handler.stream.seek(0)
            handler.stream.truncate()
    return log, handler.lock


def queue_for_ever() -> tuple[Callable[[], None], Any]:
    items: queue.Queue[int] = queue.Queue()

    def put_and_get() -> None:
        while True:
            items.put(1)
            items.get()
    return put_and_get, items.mutex


@pytest.mark.parametrize("work", [logging_for_ever, queue_for_ever])
def test_the_alarm_never_leaves_a_lock_of_the_standard_library_held(
    work: Callable[[], tuple[Callable[[], None], Any]],
) -> None:
    """A log line or a queue at the deadline: raised between taking a lock and the ``try``
    that gives it back (a logging handler's ``acquire``, a ``Condition``'s ``__enter__``), the
    interrupt left the lock held, and every other thread using it waited for ever."""
    task, lock = work()

    def free_elsewhere() -> bool:
        free = []

        def take() -> None:
            if lock.acquire(timeout=2):
                lock.release()
                free.append(True)

        thread = threading.Thread(target=take, daemon=True)
        thread.start()
        thread.join(3)
        return bool(free)

    for _ in range(100):
        with AlarmBudget(time.perf_counter() + 0.001) as budget, contextlib.suppress(Overran):
            budget.run(task)
        assert free_elsewhere()
