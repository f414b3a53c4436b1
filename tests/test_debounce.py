"""The adaptive debounce: short after a pause, growing under a burst, never past the setting."""

from __future__ import annotations

import pytest

from escape_lsp.analysis.scheduler import AdaptiveDebounce


def test_after_a_pause_an_edit_waits_a_small_fraction_of_a_build() -> None:
    d = AdaptiveDebounce()
    d.built(0.4)
    assert d.delay(0.3, now=100.0) == pytest.approx(0.02)  # 400 ms builds: 20 ms
    d.built(0.1)  # a running estimate: (0.4 + 0.1) / 2
    assert d.delay(0.3, now=200.0) == pytest.approx(0.0125)
    fast, slow = AdaptiveDebounce(), AdaptiveDebounce()
    fast.built(0.05)
    assert fast.delay(0.3, now=1.0) == AdaptiveDebounce.SHORTEST  # never below 10 ms
    slow.built(60.0)
    assert slow.delay(0.3, now=1.0) == 0.3  # never past the configured debounce


def test_a_burst_doubles_the_wait_up_to_the_setting_and_a_pause_resets_it() -> None:
    d = AdaptiveDebounce()
    d.built(0.2)
    now = 10.0
    waits = []
    for _ in range(8):
        waits.append(d.delay(0.3, now=now))
        now += 0.005  # edits 5 ms apart
    assert waits[:4] == pytest.approx([0.01, 0.02, 0.04, 0.08]) and waits[-1] == 0.3
    assert waits == sorted(waits)
    assert d.delay(0.3, now=now + 5.0) == pytest.approx(0.01)  # after a pause: short again


def test_no_build_yet_waits_the_setting() -> None:
    assert AdaptiveDebounce().delay(0.3, now=1.0) == 0.3


def test_typing_is_a_burst_even_when_keystrokes_are_further_apart_than_the_wait() -> None:
    d = AdaptiveDebounce()
    d.built(0.2)
    waits = [d.delay(0.3, now=10.0 + 0.12 * i) for i in range(7)]  # a keystroke per 120 ms
    assert waits[0] == pytest.approx(0.01) and waits[-1] == 0.3
