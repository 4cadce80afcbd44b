"""The blocking client: ``Client(socket=...)``."""

from __future__ import annotations

import time
from typing import Any, Dict, Iterator, List, Optional

import httpx

from . import _shared as s
from .errors import ApiError, DaemonUnreachable
from .models import Escalation, Event, Person, Sent, Space, items


class Client:
    """The daemon's socket API. Every method raises ``ApiError`` (with the
    daemon's ``code``) or ``DaemonUnreachable``."""

    def __init__(self, socket: str, timeout: float = 30.0):
        self._http = httpx.Client(transport=httpx.HTTPTransport(uds=socket), base_url="http://localhost", timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return s.checked(self._http.request(method, path, **kwargs))
        except httpx.TransportError as error:
            raise DaemonUnreachable(f"cannot reach the daemon: {error}") from error

    def escalate(self, to: s.Destination, summary: str, *, key: Optional[str] = None, **optional: Any) -> Escalation:
        """Asks a specialist (``question``, ``player``, ``fields``, ``timeout_s``, ``context``
        optional). The same ``key`` returns the escalation it made before."""
        body = s.escalation_body(to, summary, key=key, **optional)
        return Escalation.from_json(self._call("POST", "/v1/escalations", json=body))

    def get(self, escalation_id: str) -> Escalation:
        return Escalation.from_json(self._call("GET", f"/v1/escalations/{escalation_id}"))

    def wait(self, escalation_id: str, timeout: float) -> Escalation:
        """The escalation once it leaves ``pending``, or as it is when ``timeout`` (s) ran out."""
        deadline = time.monotonic() + timeout
        while True:
            wait_s = int(min(s.deadline_left(deadline), s.MAX_POLL_S))
            path = f"/v1/escalations/{escalation_id}"
            found = Escalation.from_json(self._call("GET", path, params={"wait": wait_s}, timeout=s.poll_timeout(wait_s)))
            if not found.pending or s.deadline_left(deadline) <= 0:
                return found

    def cancel(self, escalation_id: str, reason: Optional[str] = None) -> Escalation:
        body = {"reason": reason} if reason else None
        return Escalation.from_json(self._call("POST", f"/v1/escalations/{escalation_id}/cancel", json=body))

    def notify(
        self, to: s.Destination, text: Optional[str] = None, *, markdown: Optional[str] = None, key: Optional[str] = None
    ) -> Sent:
        body = s.notification_body(to, text, markdown, key)
        return Sent(**self._call("POST", "/v1/messages", json=body))

    def spaces(self, type: Optional[str] = None, q: Optional[str] = None) -> List[Space]:
        params = {name: value for name, value in (("type", type), ("q", q)) if value}
        return [Space.from_json(j) for j in items(self._call("GET", "/v1/spaces", params=params))]

    def person(self, email: str) -> Person:
        """The person Webex knows by this email; ``ApiError`` ``unknown_person`` otherwise."""
        return Person.from_json(self._call("GET", "/v1/people", params={"email": email}))

    def people(self, q: str) -> List[Person]:
        """People of the bot's org whose name or email starts with ``q``."""
        return [Person.from_json(j) for j in items(self._call("GET", "/v1/people", params={"q": q}))]

    def events(self, after: int = 0, epoch: Optional[str] = None) -> Iterator[Event]:
        """Every event after seq ``after``, following the log for ever: a dropped
        stream (or a restarted daemon) is reconnected, resuming after the last
        event yielded. ``stream.gap`` and ``stream.reset`` are yielded too."""
        follower = s.Follower(after, epoch)
        while True:
            try:
                with self._http.stream("GET", "/v1/events", params=follower.params(), timeout=s.stream_timeout()) as r:
                    if not r.is_success:
                        r.read()
                        s.checked(r)
                    yield from follower.read(r.iter_lines())
            except ApiError as error:
                if error.status < 500:
                    raise
            except httpx.TransportError:
                pass
            time.sleep(follower.backoff())
