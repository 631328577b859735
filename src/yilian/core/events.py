"""In-process after-commit events.

A service calls ``publish(session, event)``; the event waits on the session and
runs only after that session's transaction commits, each handler in its own
transaction; on rollback it vanishes.  Handlers must be idempotent (keyed on
``event_id``), because a queue will later replace this dispatcher.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("yilian.events")

_PENDING_KEY = "yilian_pending_events"


@dataclass(frozen=True)
class Event:
    name: str
    payload: dict[str, Any]
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)


Handler = Callable[[Any, Event], None]  # (session, event)
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> None:
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def publish(session: Any, event: Event) -> None:
    session.info.setdefault(_PENDING_KEY, []).append(event)


def discard_pending(session: Any) -> None:
    session.info.pop(_PENDING_KEY, None)


def run_pending(session: Any, new_session: Callable[[], Any]) -> None:
    """Run events queued on a committed session; a failing handler is logged, not raised."""
    pending: list[Event] = session.info.pop(_PENDING_KEY, [])
    for ev in pending:
        for handler in list(_handlers.get(ev.name, [])):
            with new_session() as handler_session:
                try:
                    handler(handler_session, ev)
                    handler_session.commit()
                    if handler_session.info.get(_PENDING_KEY):
                        run_pending(handler_session, new_session)
                except Exception:
                    handler_session.rollback()
                    log.exception("event handler failed: %s %s", ev.name, ev.event_id)
