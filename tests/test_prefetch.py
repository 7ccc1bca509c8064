"""The background prefetch behind Parquet reading: order, errors, early stop, bounded memory."""

from __future__ import annotations

import threading
import time

import pytest

from epochplan.sources import prefetch


def test_keeps_order():
    assert list(prefetch(iter(range(100)))) == list(range(100))


def test_error_in_producer_reaches_consumer_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise ValueError("corrupt row group")

    got = []
    with pytest.raises(ValueError, match="corrupt row group"):
        for item in prefetch(items()):
            got.append(item)
    assert got == [1, 2]


def test_producer_stays_at_most_depth_ahead_and_stops_when_consumer_stops():
    produced = []

    def items():
        for i in range(1000):
            produced.append(i)
            yield i

    stream = prefetch(items(), depth=1)
    assert next(stream) == 0
    time.sleep(0.3)
    assert len(produced) <= 3  # current + one queued + one waiting to be queued
    stream.close()  # the consumer stops early
    deadline = time.monotonic() + 2
    while any(t.name == "epochplan-prefetch" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "epochplan-prefetch" for t in threading.enumerate())


def test_a_consumer_that_stops_after_the_producer_finished_is_not_left_waiting():
    """Ctrl-C after the last batch was read: the producer has one item queued and its end marker
    to hand over; the consumer stops and waits for the producer, which must not wait for room
    the stopped consumer will never make (this hung `audit --label` after a Ctrl-C)."""
    exhausted = threading.Event()

    def items():
        yield 1
        yield 2
        exhausted.set()

    stream = prefetch(items(), depth=1)
    assert next(stream) == 1
    assert exhausted.wait(60), "the producer never read its input to the end"
    closer = threading.Thread(target=stream.close, daemon=True)
    closer.start()
    closer.join(120)  # a bound against a hang, not a timing check
    assert not closer.is_alive(), "stopping the consumer hung: the producer waits to hand over its end marker"
