"""Traffic shaping of the fake Bot API server: call log, injected faults, flood limits, latency.

* Every bot-side call is logged (method, decoded params, ``time.monotonic()`` at arrival, status).
* Faults make the next ``times`` calls of a method (or a random ``probability`` share) fail.
* Limits are sliding windows counted on successful message-producing calls only
  (``send*`` except sendChatAction, ``edit*``, ``copyMessage(s)``, ``forwardMessage(s)``):
  ``per_chat_per_second``, ``global_per_second`` and ``group_per_minute`` (negative chat ids).
  Over a limit the call is answered 429 ``Too Many Requests: retry after N``.
* Latency delays the answer of one method, or of every method.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from studymate.testing.fake_telegram.models import ControlError, TelegramError

__all__ = ["Fault", "Limits", "Traffic", "is_message_producing"]

MAX_CALLS_LOGGED: Final = 50_000
ANY_METHOD: Final = "*"

_DEFAULT_DESCRIPTIONS: Final[dict[int, str]] = {
    400: "Bad Request: injected fault",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def is_message_producing(method: str) -> bool:
    """Whether calls of ``method`` count against flood limits."""
    if method == "sendChatAction":
        return False
    return method.startswith(("send", "edit", "copyMessage", "forwardMessage"))


@dataclass
class Fault:
    """An injected failure for calls of ``method`` (``*`` = every method)."""

    method: str
    error_code: int
    description: str
    retry_after: int | None = None
    times: int | None = 1
    probability: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_error(self) -> TelegramError:
        return TelegramError(self.error_code, self.description, retry_after=self.retry_after)


@dataclass
class Limits:
    """Flood limits; ``None`` disables a limit."""

    per_chat_per_second: int | None = None
    global_per_second: int | None = None
    group_per_minute: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Traffic:
    """Call log, faults, limits and latency of one server."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self.calls: deque[dict[str, Any]] = deque(maxlen=MAX_CALLS_LOGGED)
        self.faults: list[Fault] = []
        self.limits = Limits()
        self.latency: dict[str, float] = {}
        self._global_sends: deque[float] = deque()
        self._chat_sends: dict[int, deque[float]] = {}
        self._group_sends: dict[int, deque[float]] = {}

    def reset(self) -> None:
        """Forget the log, faults, limits and latency."""
        self.calls.clear()
        self.faults.clear()
        self.limits = Limits()
        self.latency.clear()
        self._clear_windows()

    def _clear_windows(self) -> None:
        self._global_sends.clear()
        self._chat_sends.clear()
        self._group_sends.clear()

    # -- call log -----------------------------------------------------------------------------

    def log_call(
        self, method: str, params: dict[str, Any], chat_id: int | str | None
    ) -> dict[str, Any]:
        """Append a log entry at arrival; :meth:`finish_call` fills in the answer."""
        entry: dict[str, Any] = {
            "method": method,
            "params": params,
            "t": time.monotonic(),
            "status": None,
            "chat_id": chat_id,
        }
        self.calls.append(entry)
        return entry

    @staticmethod
    def finish_call(entry: dict[str, Any], status: int, description: str | None = None) -> None:
        entry["status"] = status
        entry["duration"] = time.monotonic() - entry["t"]
        if description is not None:
            entry["description"] = description

    def calls_view(
        self, method: str | None = None, since: float | None = None
    ) -> list[dict[str, Any]]:
        """Logged calls in arrival order, optionally of one method and from ``since`` on."""
        wanted = method.lower() if method else None
        return [
            dict(entry)
            for entry in self.calls
            if (wanted is None or entry["method"].lower() == wanted)
            and (since is None or entry["t"] >= since)
        ]

    # -- faults -------------------------------------------------------------------------------

    def add_fault(self, spec: Mapping[str, Any]) -> Fault:
        """Validate and register a fault from a control-API body."""
        code = _int_field(spec, "error_code")
        if code is None or not 400 <= code <= 599:
            raise ControlError("error_code must be an HTTP error status (400-599)")
        retry_after = _int_field(spec, "retry_after")
        if code == 429 and retry_after is None:
            retry_after = 1
        description = spec.get("description") or _default_description(code, retry_after)
        times = _int_field(spec, "times")
        probability = spec.get("probability")
        if probability is not None and not (
            isinstance(probability, int | float) and 0 <= probability <= 1
        ):
            raise ControlError("probability must be a number between 0 and 1")
        if times is None and probability is None:
            times = 1
        fault = Fault(
            method=str(spec.get("method") or ANY_METHOD),
            error_code=code,
            description=str(description),
            retry_after=retry_after,
            times=times,
            probability=float(probability) if probability is not None else None,
        )
        self.faults.append(fault)
        return fault

    def take_fault(self, method: str) -> TelegramError | None:
        """The injected error for this call of ``method``, if any (consumes one ``times``)."""
        for fault in self.faults:
            if fault.method != ANY_METHOD and fault.method.lower() != method.lower():
                continue
            if fault.probability is not None and self._rng.random() >= fault.probability:
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
            return fault.to_error()
        return None

    # -- limits -------------------------------------------------------------------------------

    def set_limits(self, spec: Mapping[str, Any]) -> Limits:
        """Replace the limits (omitted or null fields disable that limit)."""
        self.limits = Limits(
            per_chat_per_second=_int_field(spec, "per_chat_per_second"),
            global_per_second=_int_field(spec, "global_per_second"),
            group_per_minute=_int_field(spec, "group_per_minute"),
        )
        self._clear_windows()
        return self.limits

    def check_limits(self, chat_id: int | None) -> None:
        """Raise 429 when one more message to ``chat_id`` would break a limit."""
        moment = time.monotonic()
        waits = [
            _window_wait(self._global_sends, self.limits.global_per_second, 1.0, moment),
        ]
        if chat_id is not None:
            window = self._chat_sends.get(chat_id, deque())
            waits.append(_window_wait(window, self.limits.per_chat_per_second, 1.0, moment))
            if chat_id < 0:
                window = self._group_sends.get(chat_id, deque())
                waits.append(_window_wait(window, self.limits.group_per_minute, 60.0, moment))
        wait = max(waits)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise TelegramError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )

    def record_send(self, chat_id: int | None) -> None:
        """Count one successful message-producing call."""
        moment = time.monotonic()
        self._global_sends.append(moment)
        _trim(self._global_sends, moment - 60.0)
        if chat_id is None:
            return
        self._chat_sends.setdefault(chat_id, deque()).append(moment)
        _trim(self._chat_sends[chat_id], moment - 60.0)
        if chat_id < 0:
            self._group_sends.setdefault(chat_id, deque()).append(moment)
            _trim(self._group_sends[chat_id], moment - 60.0)

    # -- latency ------------------------------------------------------------------------------

    def set_latency(self, spec: Mapping[str, Any]) -> dict[str, float]:
        """Set the delay of one method (or every method); 0 removes it."""
        seconds = spec.get("seconds")
        if not isinstance(seconds, int | float) or seconds < 0:
            raise ControlError("seconds must be a non-negative number")
        key = str(spec.get("method") or ANY_METHOD).lower()
        if seconds == 0:
            self.latency.pop(key, None)
        else:
            self.latency[key] = float(seconds)
        return dict(self.latency)

    def latency_for(self, method: str) -> float:
        return self.latency.get(method.lower(), self.latency.get(ANY_METHOD, 0.0))


def _window_wait(window: deque[float], limit: int | None, span: float, moment: float) -> float:
    """Seconds until ``window`` admits one more event under ``limit`` per ``span``."""
    if limit is None:
        return 0.0
    recent = [t for t in window if t > moment - span]
    if len(recent) < limit:
        return 0.0
    if limit <= 0:
        return span
    return recent[-limit] + span - moment


def _trim(window: deque[float], horizon: float) -> None:
    while window and window[0] <= horizon:
        window.popleft()


def _default_description(code: int, retry_after: int | None) -> str:
    if code == 429:
        return f"Too Many Requests: retry after {retry_after}"
    return _DEFAULT_DESCRIPTIONS.get(code, f"Error {code}")


def _int_field(spec: Mapping[str, Any], name: str) -> int | None:
    value = spec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ControlError(f"{name} must be an integer")
    return value
