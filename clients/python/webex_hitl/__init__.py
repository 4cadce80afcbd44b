"""Python client of the webex-hitl daemon: escalate to human specialists in Webex.

The contract is the daemon's OpenAPI document (``GET /v1/openapi.json``,
``openapi.json`` in the repository); this package is a typed face of it.
"""

from .async_client import AsyncClient
from .client import Client
from .errors import ApiError, DaemonUnreachable, HitlError
from .models import Answer, Answerer, Delivery, Escalation, Event, Person, Sent, Space

__all__ = [
    "AsyncClient",
    "Client",
    "ApiError",
    "DaemonUnreachable",
    "HitlError",
    "Answer",
    "Answerer",
    "Delivery",
    "Escalation",
    "Event",
    "Person",
    "Sent",
    "Space",
]
