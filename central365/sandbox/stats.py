"""Request counters, read by benchmarks through `GET /_sandbox/stats`.

Only Graph traffic under `/v1.0` is counted; the admin API is not.  A `$batch` counts as one
HTTP request (in `requests`, `by_method["POST"]` and `batches`) and each of its members once in
`inner_requests`.  `throttled` counts 429 `ApplicationThrottled` answers of the throttle model
(top-level and inner); `faults_injected` counts random and scripted faults.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class SandboxStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.by_method: Counter[str] = Counter()
            self.by_status: Counter[int] = Counter()
            self.batches = 0
            self.inner_requests = 0
            self.inner_by_method: Counter[str] = Counter()
            self.inner_by_status: Counter[int] = Counter()
            self.throttled = 0
            self.faults_injected = 0

    def request(self, method: str) -> None:
        with self._lock:
            self.requests += 1
            self.by_method[method] += 1

    def response(self, status: int) -> None:
        with self._lock:
            self.by_status[status] += 1

    def batch(self, members: int) -> None:
        with self._lock:
            self.batches += 1
            self.inner_requests += members

    def inner(self, method: str, status: int) -> None:
        with self._lock:
            self.inner_by_method[method] += 1
            self.inner_by_status[status] += 1

    def throttle(self) -> None:
        with self._lock:
            self.throttled += 1

    def fault(self) -> None:
        with self._lock:
            self.faults_injected += 1

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "by_method": dict(self.by_method),
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "batches": self.batches,
                "inner_requests": self.inner_requests,
                "inner_by_method": dict(self.inner_by_method),
                "inner_by_status": {str(k): v for k, v in sorted(self.inner_by_status.items())},
                "throttled": self.throttled,
                "faults_injected": self.faults_injected,
            }
