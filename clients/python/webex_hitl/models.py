"""The daemon's answers as dataclasses, read from the JSON the OpenAPI document describes.

Each model keeps only what an engine reads; ``from_json`` ignores fields it
does not know, so a newer daemon does not break an older client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional


def parse_time(text: Optional[str]) -> Optional[datetime]:
    """RFC 3339 as the daemon writes it (``Z``, up to 9 fractional digits)."""
    if text is None:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Person:
    id: str
    display_name: str
    email: Optional[str] = None
    type: Optional[str] = None
    # Whether the bot already has a DM with them, and its space id.
    has_direct_space: bool = False
    direct_space_id: Optional[str] = None

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "Person":
        return cls(
            j["id"],
            j["display_name"],
            j.get("email"),
            j.get("type"),
            bool(j.get("has_direct_space", False)),
            j.get("direct_space_id"),
        )


@dataclass(frozen=True)
class Space:
    id: str
    title: str
    space_type: str
    visible: bool
    last_activity: Optional[datetime] = None
    # A direct space's other person, once the daemon has learnt who it is:
    # the email tells apart DMs with people of the same name.
    counterpart_id: Optional[str] = None
    counterpart_email: Optional[str] = None
    counterpart_name: Optional[str] = None

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "Space":
        return cls(
            j["id"],
            j["title"],
            j["space_type"],
            j["visible"],
            parse_time(j.get("last_activity")),
            j.get("counterpart_id"),
            j.get("counterpart_email"),
            j.get("counterpart_name"),
        )


@dataclass(frozen=True)
class Answerer:
    id: str
    name: str
    email: Optional[str] = None


@dataclass(frozen=True)
class Answer:
    inputs: Dict[str, str]
    by: Answerer
    at: datetime

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "Answer":
        by = j["by"]
        return cls(dict(j["inputs"]), Answerer(by["id"], by["name"], by.get("email")), parse_time(j["at"]))


@dataclass(frozen=True)
class Delivery:
    state: str
    attempts: int
    message_id: Optional[str] = None
    space_id: Optional[str] = None
    error: Optional[str] = None


@dataclass(frozen=True)
class Escalation:
    id: str
    status: str
    key: Optional[str]
    summary: str
    created_at: datetime
    expires_at: datetime
    delivery: Delivery
    to: Dict[str, str]
    context: Any = None
    answer: Optional[Answer] = None
    closed_at: Optional[datetime] = None
    close_reason: Optional[str] = None

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "Escalation":
        d = j["delivery"]
        return cls(
            id=j["id"],
            status=j["status"],
            key=j.get("key"),
            summary=j["summary"],
            created_at=parse_time(j["created_at"]),
            expires_at=parse_time(j["expires_at"]),
            delivery=Delivery(d["state"], d["attempts"], d.get("message_id"), d.get("space_id"), d.get("error")),
            to=dict(j["to"]),
            context=j.get("context"),
            answer=Answer.from_json(j["answer"]) if j.get("answer") else None,
            closed_at=parse_time(j.get("closed_at")),
            close_reason=j.get("close_reason"),
        )


@dataclass(frozen=True)
class Event:
    """One line of the event stream. ``type`` is ``escalation.*``, ``space.*``,
    ``connection.*``, or ``stream.gap`` / ``stream.reset`` (the cursor did not fit the
    log: resync your state from the API); ``raw`` is the whole line."""

    type: str
    seq: Optional[int]
    epoch: Optional[str]
    at: Optional[datetime]
    escalation: Optional[Escalation] = None
    space: Optional[Space] = None
    connection: Optional[Dict[str, Any]] = None
    raw: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, j: Dict[str, Any]) -> "Event":
        return cls(
            type=j["type"],
            seq=j.get("seq"),
            epoch=j.get("epoch"),
            at=parse_time(j.get("at")),
            escalation=Escalation.from_json(j["escalation"]) if "escalation" in j else None,
            space=Space.from_json(j["space"]) if "space" in j else None,
            connection=j.get("connection"),
            raw=j,
        )


@dataclass(frozen=True)
class Sent:
    message_id: str
    space_id: str


def items(j: Dict[str, Any]) -> List[Dict[str, Any]]:
    return list(j.get("items", []))
