"""Sending the outbox: claim a few messages, deliver each through an adapter, record each
attempt; several transactions, so that nothing is locked while a gateway answers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from immunis.access.policy import Actor
from immunis.db import transaction
from immunis.outreach import service
from immunis.outreach.delivery import DeliveryAdapter, DeliveryResult, OutgoingMessage


@dataclass
class SendReport:
    sent: int = 0
    retry: int = 0  # failed for now, queued again for later
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.sent + self.retry + self.failed


def _now() -> datetime:
    return datetime.now(UTC)


def deliver(adapter: DeliveryAdapter, message: OutgoingMessage) -> DeliveryResult:
    """The adapter's answer; an adapter that raises is a failure worth retrying, so that no
    message is left claimed forever by a bug."""
    try:
        return adapter.send(message)
    except Exception as error:
        return DeliveryResult(False, error=f"{type(error).__name__}: {error}")


def send_outbox(
    sessions: sessionmaker[Session],
    adapter: DeliveryAdapter,
    actor: Actor,
    *,
    language: str,
    max_attempts: int,
    retry_seconds: int,
    limit: int | None = None,
    batch_size: int = 20,
    now: Callable[[], datetime] = _now,
    progress: Callable[[str], None] | None = None,
) -> SendReport:
    """Deliver queued messages that are due until none is left (or `limit` were tried). Safe to
    run in several processes at once: each message is claimed by exactly one of them, and a
    message once sent is never claimed again."""
    report = SendReport()
    while limit is None or report.attempted < limit:
        take = batch_size if limit is None else min(batch_size, limit - report.attempted)
        with transaction(sessions) as session:
            claimed = service.claim_messages(
                session, actor, limit=take, now=now(), language=language
            )
        if not claimed:
            break
        for item in claimed:
            if isinstance(item, service.Unsendable):
                result = DeliveryResult(False, error=item.error, permanent=True)
            else:
                result = deliver(adapter, item)
            with transaction(sessions) as session:
                outcome = service.record_attempt(
                    session,
                    item.id,
                    adapter.name,
                    result,
                    now=now(),
                    max_attempts=max_attempts,
                    retry_seconds=retry_seconds,
                )
            setattr(report, outcome, getattr(report, outcome) + 1)
            if progress is not None:
                progress(outcome)
    return report
