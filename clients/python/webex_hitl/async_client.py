"""The asyncio client: ``AsyncClient(socket=...)``, the same methods as coroutines."""

from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator, List, Optional

import httpx

from . import _shared as s
from .errors import ApiError, DaemonUnreachable
from .models import Escalation, Event, Person, Sent, Space, items


class AsyncClient:
    def __init__(self, socket: str, timeout: float = 30.0):
        transport = httpx.AsyncHTTPTransport(uds=socket)
        self._http = httpx.AsyncClient(transport=transport, base_url="http://localhost", timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return s.checked(await self._http.request(method, path, **kwargs))
        except httpx.TransportError as error:
            raise DaemonUnreachable(f"cannot reach the daemon: {error}") from error

    async def escalate(self, to: s.Destination, summary: str, *, key: Optional[str] = None, **optional: Any) -> Escalation:
        body = s.escalation_body(to, summary, key=key, **optional)
        return Escalation.from_json(await self._call("POST", "/v1/escalations", json=body))

    async def get(self, escalation_id: str) -> Escalation:
        return Escalation.from_json(await self._call("GET", f"/v1/escalations/{escalation_id}"))

    async def wait(self, escalation_id: str, timeout: float) -> Escalation:
        deadline = time.monotonic() + timeout
        while True:
            wait_s = int(min(s.deadline_left(deadline), s.MAX_POLL_S))
            path = f"/v1/escalations/{escalation_id}"
            answer = await self._call("GET", path, params={"wait": wait_s}, timeout=s.poll_timeout(wait_s))
            found = Escalation.from_json(answer)
            if not found.pending or s.deadline_left(deadline) <= 0:
                return found

    async def cancel(self, escalation_id: str, reason: Optional[str] = None) -> Escalation:
        body = {"reason": reason} if reason else None
        return Escalation.from_json(await self._call("POST", f"/v1/escalations/{escalation_id}/cancel", json=body))

    async def notify(
        self, to: s.Destination, text: Optional[str] = None, *, markdown: Optional[str] = None, key: Optional[str] = None
    ) -> Sent:
        return Sent(**await self._call("POST", "/v1/messages", json=s.notification_body(to, text, markdown, key)))

    async def spaces(self, type: Optional[str] = None, q: Optional[str] = None) -> List[Space]:
        params = {name: value for name, value in (("type", type), ("q", q)) if value}
        return [Space.from_json(j) for j in items(await self._call("GET", "/v1/spaces", params=params))]

    async def person(self, email: str) -> Person:
        return Person.from_json(await self._call("GET", "/v1/people", params={"email": email}))

    async def people(self, q: str) -> List[Person]:
        return [Person.from_json(j) for j in items(await self._call("GET", "/v1/people", params={"q": q}))]

    async def events(self, after: int = 0, epoch: Optional[str] = None) -> AsyncIterator[Event]:
        follower = s.Follower(after, epoch)
        while True:
            try:
                async with self._http.stream("GET", "/v1/events", params=follower.params(), timeout=s.stream_timeout()) as r:
                    if not r.is_success:
                        await r.aread()
                        s.checked(r)
                    async for line in r.aiter_lines():
                        event = follower.take(line)
                        if event is not None:
                            yield event
            except ApiError as error:
                if error.status < 500:
                    raise
            except httpx.TransportError:
                pass
            await asyncio.sleep(follower.backoff())
