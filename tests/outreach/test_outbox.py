"""Sending the outbox: every message delivered once and logged, never again; at most once
however many senders run at once; failures retried with a doubling wait, then given up."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from immunis.access.system import system_actor
from immunis.outreach import service
from immunis.outreach.delivery import DeliveryResult, OutgoingMessage
from immunis.outreach.flows import SendReport, send_outbox
from immunis.outreach.jsonl_file import FileAdapter
from immunis.outreach.models import DeliveryAttempt, OutboxMessage
from immunis.outreach.sms_gateway import SmsGatewayAdapter
from tests.outreach.conftest import TODAY, OutreachWorld
from tests.outreach.fakes import fake_http

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PAYLOAD = {
    "person_name": "Trần Văn An",
    "recipient_name": "Nguyễn Thị Lan",
    "for_dependant": True,
    "date": "2026-03-10",
    "doses": [{"vaccine_group": "Polio", "vaccine": "polio"}],
    "site_name": "Trạm Y tế phường Phúc Xá",
    "booking_url": "https://tiemchung.example.vn/book?person=p",
}


class Clock:
    """A settable now, so that the retry waits can be stepped through."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    """An adapter that takes its time and remembers what it was given."""

    name = "recorder"

    def __init__(self, result: DeliveryResult | None = None, pause: float = 0.0) -> None:
        self.result = result or DeliveryResult(True)
        self.pause = pause
        self.sent: list[str] = []
        self.lock = threading.Lock()

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        time.sleep(self.pause)
        with self.lock:
            self.sent.append(message.id)
        return self.result


def _queue(outreach: OutreachWorld, count: int, **options: object) -> list[str]:
    """`count` messages for An, each about something else."""
    for number in range(count):
        outreach.run(
            service.queue_message,
            person_id=outreach.people["an"],
            template=options.get("template", "reminder-due-soon"),
            reference=f"test-{number}",
            payload=options.get("payload", PAYLOAD),
            address=options.get("address", "0987654321"),
            language="vi",
        )
    with outreach.world.sessions() as session:
        return list(session.scalars(select(OutboxMessage.id)))


def _send(
    outreach: OutreachWorld, adapter: object, clock: Clock | None = None, **options: object
) -> SendReport:
    return send_outbox(
        outreach.world.sessions,
        adapter,  # type: ignore[arg-type]
        system_actor("test"),
        language="vi",
        max_attempts=options.pop("max_attempts", 3),  # type: ignore[arg-type]
        retry_seconds=60,
        now=clock or Clock(),
        **options,  # type: ignore[arg-type]
    )


def _log(outreach: OutreachWorld) -> list[tuple[int, str, str, str | None]]:
    with outreach.world.sessions() as session:
        return [
            (row.attempt, row.adapter, row.outcome, row.error)
            for row in session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id))
        ]


def _message(outreach: OutreachWorld, message_id: str) -> OutboxMessage:
    with outreach.world.sessions() as session:
        found = session.get(OutboxMessage, message_id)
        assert found is not None
        return found


def test_each_message_is_sent_once_logged_and_never_again(
    outreach: OutreachWorld, tmp_path: Path
) -> None:
    ids = _queue(outreach, 3)
    log = tmp_path / "outbox.jsonl"
    first = _send(outreach, FileAdapter(log))
    again = _send(outreach, FileAdapter(log))
    assert (first.sent, again.attempted) == (3, 0)
    assert len(log.read_text(encoding="utf-8").splitlines()) == 3
    assert {_message(outreach, i).status for i in ids} == {"sent"}
    assert all(_message(outreach, i).sent_at is not None for i in ids)
    assert _log(outreach) == [(1, "file", "sent", None)] * 3


def test_two_senders_at_once_send_each_message_exactly_once(outreach: OutreachWorld) -> None:
    ids = _queue(outreach, 40)
    adapter = Recorder(pause=0.005)
    start = threading.Barrier(2)
    reports: list[SendReport] = []

    def sender() -> None:
        start.wait()
        reports.append(_send(outreach, adapter, batch_size=3))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(adapter.sent) == Counter(ids)  # every message, none twice
    assert sum(r.sent for r in reports) == 40
    assert all(r.sent > 0 for r in reports)  # both senders did their share
    assert len(_log(outreach)) == 40


def test_a_failing_gateway_is_retried_with_a_doubling_wait_then_given_up(
    outreach: OutreachWorld,
) -> None:
    [message_id] = _queue(outreach, 1)
    clock = Clock()
    with fake_http(503, b'{"error": "busy"}') as gateway:
        adapter = SmsGatewayAdapter(gateway.url)
        assert _send(outreach, adapter, clock).retry == 1
        waiting = _message(outreach, message_id)
        assert (waiting.status, waiting.attempts) == ("queued", 1)
        assert waiting.next_attempt_at is not None
        assert waiting.next_attempt_at.replace(tzinfo=UTC) == START + timedelta(seconds=60)
        clock.now = START + timedelta(seconds=59)
        assert _send(outreach, adapter, clock).attempted == 0  # not yet
        clock.now = START + timedelta(seconds=60)
        assert _send(outreach, adapter, clock).retry == 1
        clock.now += timedelta(seconds=119)
        assert _send(outreach, adapter, clock).attempted == 0  # the wait doubled
        clock.now += timedelta(seconds=1)
        assert _send(outreach, adapter, clock).failed == 1
        assert len(gateway.received) == 3
    failed = _message(outreach, message_id)
    assert (failed.status, failed.attempts) == ("failed", 3)
    assert failed.last_error is not None and "HTTP 503" in failed.last_error
    assert [(a, adapter_name, outcome) for a, adapter_name, outcome, _ in _log(outreach)] == [
        (1, "sms", "retry"),
        (2, "sms", "retry"),
        (3, "sms", "failed"),
    ]
    assert all("HTTP 503" in (error or "") for *_, error in _log(outreach))


def test_a_gateway_that_refuses_the_message_is_not_asked_again(outreach: OutreachWorld) -> None:
    [message_id] = _queue(outreach, 1)
    with fake_http(400, b'{"error": "bad number"}') as gateway:
        report = _send(outreach, SmsGatewayAdapter(gateway.url))
    assert (report.failed, len(gateway.received)) == (1, 1)
    assert _message(outreach, message_id).status == "failed"


def test_a_delivery_that_succeeds_after_a_failure_is_sent(outreach: OutreachWorld) -> None:
    [message_id] = _queue(outreach, 1)
    clock = Clock()
    with fake_http(503) as gateway:
        adapter = SmsGatewayAdapter(gateway.url)
        _send(outreach, adapter, clock)
        gateway.status = 200
        clock.now += timedelta(minutes=1)
        assert _send(outreach, adapter, clock).sent == 1
    assert _message(outreach, message_id).status == "sent"
    assert [outcome for _, _, outcome, _ in _log(outreach)] == ["retry", "sent"]


def test_an_adapter_that_breaks_leaves_the_message_to_retry(outreach: OutreachWorld) -> None:
    class Broken:
        name = "broken"

        def send(self, message: OutgoingMessage) -> DeliveryResult:
            raise RuntimeError("bug in the adapter")

    [message_id] = _queue(outreach, 1)
    assert _send(outreach, Broken()).retry == 1
    assert _message(outreach, message_id).status == "queued"
    assert "RuntimeError: bug in the adapter" in (_log(outreach)[0][3] or "")


def test_a_recall_queued_by_another_room_is_addressed_to_the_guardian(
    outreach: OutreachWorld,
) -> None:
    # As the supply room queues it: no address, no language, no names.
    outreach.run(
        service.queue_message,
        person_id=outreach.people["an"],
        template="lot-recall-revaccinate",
        reference="lot-1",
        payload={"lot_number": "HBV-BAD", "cvx": "08", "product_name": None,
                 "doses_given_on": ["2026-01-10"]},
    )  # fmt: skip
    adapter = Recorder()
    claimed = outreach.run(
        service.claim_messages, system_actor("test"), limit=5, now=START, language="vi"
    )
    [ready] = claimed
    assert isinstance(ready, OutgoingMessage)
    assert ready.address == "0987654321"  # Lan, An's mother
    assert ready.subject == "Thông báo tiêm lại do thu hồi lô vắc xin"
    assert "Xin chào Nguyễn Thị Lan" in ready.body
    assert "Trần Văn An được tiêm ngày 10 tháng 1 năm 2026 đã bị thu hồi" in ready.body
    assert adapter.sent == []


def test_a_message_nobody_can_be_reached_for_fails_without_a_send(
    outreach: OutreachWorld,
) -> None:
    outreach.run(
        service.queue_message,
        person_id=outreach.people["em"],
        template="lot-recall-revaccinate",
        reference="lot-1",
        payload={"lot_number": "X", "product_name": None, "doses_given_on": ["2025-09-01"]},
    )
    adapter = Recorder()
    assert _send(outreach, adapter).failed == 1
    assert adapter.sent == []
    assert "no phone number" in (_log(outreach)[0][3] or "")


@pytest.mark.parametrize("template", ["birthday-card"])
def test_a_message_without_a_template_fails_for_good(
    outreach: OutreachWorld, template: str
) -> None:
    _queue(outreach, 1, template=template)
    assert _send(outreach, Recorder()).failed == 1
    assert "UnknownTemplate" in (_log(outreach)[0][3] or "")


def test_the_limit_caps_how_many_are_tried(outreach: OutreachWorld) -> None:
    _queue(outreach, 5)
    assert _send(outreach, Recorder(), limit=2).sent == 2
    with outreach.world.sessions() as session:
        assert service.outbox_counts(session) == {"queued": 3, "sent": 2}
        assert service.sendable_count(session, START) == 3


def test_a_reminder_built_today_is_delivered_by_the_file_adapter(
    outreach: OutreachWorld, tmp_path: Path
) -> None:
    outreach.run(
        service.build_reminders,
        outreach.actor("vaccinator"),
        service.ListRequest(on=TODAY),
        site_code="HN-BADINH-01",
        base_url="https://tiemchung.example.vn",
    )
    log = tmp_path / "outbox.jsonl"
    assert _send(outreach, FileAdapter(log)).sent == 2
    text = log.read_text(encoding="utf-8")
    assert "ngày 10 tháng 3 năm 2026" in text and "Lê Thị Chi" in text
