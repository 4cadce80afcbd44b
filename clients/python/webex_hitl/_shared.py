"""What the blocking and the async client share: request bodies, answer parsing,
and the event follower's cursor (so both reconnect and resume the same way)."""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Iterable, Optional, Union

import httpx

from .errors import from_response
from .models import Event

#: The daemon answers a long poll after at most this long (`wait` ≤ 300).
MAX_POLL_S = 300
#: Heartbeats come every 15 s; a stream silent for this long is dead.
STREAM_READ_TIMEOUT_S = 45.0
#: Reconnect delays: doubled from the first, capped.
RECONNECT_FIRST_S, RECONNECT_CAP_S = 0.2, 5.0

Destination = Union[str, Dict[str, str]]


def destination(to: Destination) -> Dict[str, str]:
    """A space id, an email (a DM), or the API's own ``{"space_id"|"person_email"|"person_id": ...}``."""
    if isinstance(to, dict):
        return to
    return {"person_email": to} if "@" in to else {"space_id": to}


def escalation_body(to: Destination, summary: str, **optional: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {"to": destination(to), "summary": summary}
    body.update({name: value for name, value in optional.items() if value is not None})
    return body


def notification_body(to: Destination, text: Optional[str], markdown: Optional[str], key: Optional[str]) -> Dict[str, Any]:
    body: Dict[str, Any] = {"to": destination(to)}
    for name, value in (("text", text), ("markdown", markdown), ("key", key)):
        if value is not None:
            body[name] = value
    return body


def checked(response: httpx.Response) -> Any:
    """The JSON body of a success; an ``ApiError`` otherwise."""
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = response.text
    if response.is_success:
        return body
    raise from_response(response.status_code, body, response.headers.get("retry-after"))


def stream_timeout() -> httpx.Timeout:
    return httpx.Timeout(10.0, read=STREAM_READ_TIMEOUT_S)


def poll_timeout(wait_s: float) -> httpx.Timeout:
    return httpx.Timeout(10.0, read=wait_s + 15.0)


class Follower:
    """The cursor of ``events()``: the last seq yielded and its epoch. A reconnect
    asks for what follows them, so nothing is yielded twice or skipped."""

    def __init__(self, after: int, epoch: Optional[str]):
        self.after = after
        self.epoch = epoch
        self.delay = RECONNECT_FIRST_S

    def params(self) -> Dict[str, Any]:
        params: Dict[str, Any] = {"after": self.after, "follow": "true"}
        if self.epoch:
            params["epoch"] = self.epoch
        return params

    def read(self, lines: Iterable[str]) -> Iterable[Event]:
        for line in lines:
            event = self.take(line)
            if event is not None:
                yield event

    def take(self, line: str) -> Optional[Event]:
        """The event on this line, the cursor moved past it; ``None`` for a heartbeat."""
        if not line.strip():
            return None
        raw = json.loads(line)
        self.delay = RECONNECT_FIRST_S
        kind = raw.get("type")
        if kind == "heartbeat":
            self.epoch = raw.get("epoch", self.epoch)
            return None
        if kind == "stream.reset":
            self.after, self.epoch = raw["from"], raw["epoch"]
        elif kind != "stream.gap":
            self.after, self.epoch = raw["seq"], raw.get("epoch", self.epoch)
        return Event.from_json(raw)

    def backoff(self) -> float:
        delay, self.delay = self.delay, min(self.delay * 2, RECONNECT_CAP_S)
        return delay


def deadline_left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())
