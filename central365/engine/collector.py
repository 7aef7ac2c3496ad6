"""Python's cycle collector paused while a plan is read and built (the one job of this module).

A large plan is millions of small objects (records, folder contacts, plan entries) that hold no
reference cycles: reference counting frees every one of them.  Meanwhile the cycle collector's
full passes, triggered by that growth, rescan every live object again and again and find
nothing, which measured as half the CPU of a 200,000-record plan.  So the service pauses the
collector for the duration of a plan; anything a paused collector would have found it finds at
the next pass after the plan.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pause the cycle collector for the block, then restore it as it was.

    Overlapping blocks (two plans at once in the web app's threads) are harmless: the collector
    comes back when the block that paused it ends, perhaps while another is still running, and
    is never left off by a block that found it already off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
