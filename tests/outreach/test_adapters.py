"""Each delivery adapter against a local stand-in for its server: what it sends, and what the
server's answer means for the message (delivered, retry later, or failed for good)."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import socket
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from immunis.outreach.delivery import OutgoingMessage, adapter_named, retry_delay
from immunis.outreach.email_smtp import SmtpAdapter
from immunis.outreach.jsonl_file import FileAdapter
from immunis.outreach.phones import international_number
from immunis.outreach.sms_gateway import SmsGatewayAdapter
from immunis.outreach.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookAdapter
from immunis.settings import Settings
from tests.outreach.fakes import fake_http, fake_smtp

MESSAGE = OutgoingMessage(
    id="m-1",
    channel="sms",
    address="0987 654 321",
    language="vi",
    template="reminder-due-soon",
    subject="Nhắc lịch tiêm chủng",
    body="Xin chào Nguyễn Thị Lan. Trần Văn An sắp đến lịch tiêm vào ngày 10 tháng 3 năm 2026.",
)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    ("phone", "international"),
    [
        ("0987654321", "+84987654321"),
        ("0987 654 321", "+84987654321"),
        ("+84987654321", "+84987654321"),
        ("84987654321", "+84987654321"),
        ("0084987654321", "+84987654321"),
    ],
)
def test_phone_numbers_go_out_in_international_form(phone: str, international: str) -> None:
    assert international_number(phone) == international


def test_the_sms_gateway_gets_the_number_the_text_and_the_token() -> None:
    with fake_http(200, b'{"id": "gw-42"}') as gateway:
        result = SmsGatewayAdapter(gateway.url, token="s3cret", sender="YTE-HN").send(MESSAGE)
    assert result.delivered and result.provider_id == "gw-42"
    [request] = gateway.received
    assert request.headers["Authorization"] == "Bearer s3cret"
    body = json.loads(request.body)
    assert body == {
        "to": "+84987654321",
        "from": "YTE-HN",
        "text": MESSAGE.text,
        "reference": "m-1",
    }


@pytest.mark.parametrize(
    ("status", "permanent"), [(503, False), (500, False), (429, False), (400, True), (401, True)]
)
def test_a_gateway_error_is_retried_unless_retrying_cannot_help(
    status: int, permanent: bool
) -> None:
    with fake_http(status, b'{"error": "no"}') as gateway:
        result = SmsGatewayAdapter(gateway.url).send(MESSAGE)
    assert not result.delivered
    assert result.permanent is permanent
    assert result.error is not None and f"HTTP {status}" in result.error


def test_a_gateway_that_cannot_be_reached_is_tried_again_later() -> None:
    result = SmsGatewayAdapter(f"http://127.0.0.1:{_closed_port()}/sms", timeout=2).send(MESSAGE)
    assert not result.delivered and not result.permanent
    assert "ConnectError" in (result.error or "")


def test_the_webhook_is_signed_with_the_shared_secret() -> None:
    with fake_http(200, b"{}") as receiver:
        result = WebhookAdapter(receiver.url, "shared-secret").send(MESSAGE)
    assert result.delivered
    [request] = receiver.received
    timestamp = request.headers[TIMESTAMP_HEADER]
    expected = hmac.new(
        b"shared-secret", timestamp.encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert request.headers[SIGNATURE_HEADER] == f"sha256={expected}"
    body = json.loads(request.body)
    assert body["phone"] == "84987654321"
    assert body["text"] == MESSAGE.text and body["language"] == "vi"


def test_a_webhook_signed_with_another_secret_does_not_verify() -> None:
    with fake_http(200, b"{}") as receiver:
        WebhookAdapter(receiver.url, "shared-secret").send(MESSAGE)
    [request] = receiver.received
    forged = hmac.new(
        b"another", request.headers[TIMESTAMP_HEADER].encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    assert request.headers[SIGNATURE_HEADER] != f"sha256={forged}"


def test_email_goes_through_smtp_with_the_subject_and_body_in_vietnamese() -> None:
    to_email = dataclasses.replace(MESSAGE, channel="email", address="lan@example.vn")
    with fake_smtp() as server:
        adapter = SmtpAdapter("127.0.0.1", server.port, from_address="nhac-lich@yte.vn")
        result = adapter.send(to_email)
    assert result.delivered
    [raw] = server.messages
    email = message_from_bytes(raw, policy=policy.default)
    assert email["To"] == "lan@example.vn" and email["From"] == "nhac-lich@yte.vn"
    assert email["Subject"] == "Nhắc lịch tiêm chủng"
    assert "ngày 10 tháng 3 năm 2026" in email.get_content()


def test_a_phone_number_becomes_an_address_at_the_email_to_sms_gateway() -> None:
    with fake_smtp() as server:
        adapter = SmtpAdapter(
            "127.0.0.1", server.port, from_address="a@yte.vn", sms_domain="sms.example.vn"
        )
        assert adapter.send(MESSAGE).delivered
    assert server.recipients == [b"<84987654321@sms.example.vn>"]


def test_without_an_address_or_a_gateway_domain_email_fails_for_good() -> None:
    result = SmtpAdapter("127.0.0.1", _closed_port(), from_address="a@yte.vn").send(MESSAGE)
    assert not result.delivered and result.permanent


@pytest.mark.parametrize(
    ("rcpt", "data", "permanent"),
    [
        (b"550 no such mailbox", b"250 OK", True),
        (b"451 try again later", b"250 OK", False),
        (b"250 OK", b"452 mailbox full for now", False),
        (b"250 OK", b"554 rejected as spam", True),
    ],
)
def test_an_smtp_refusal_is_final_only_when_the_server_says_so(
    rcpt: bytes, data: bytes, permanent: bool
) -> None:
    with fake_smtp(rcpt, data) as server:
        adapter = SmtpAdapter(
            "127.0.0.1", server.port, from_address="a@yte.vn", sms_domain="sms.example.vn"
        )
        result = adapter.send(MESSAGE)
    assert not result.delivered
    assert result.permanent is permanent


def test_an_smtp_server_that_is_not_there_is_tried_again_later() -> None:
    adapter = SmtpAdapter(
        "127.0.0.1", _closed_port(), from_address="a@yte.vn", sms_domain="sms.example.vn"
    )
    result = adapter.send(MESSAGE)
    assert not result.delivered and not result.permanent


def test_the_file_adapter_appends_one_json_line_per_message(tmp_path: Path) -> None:
    log = tmp_path / "outreach" / "outbox.jsonl"
    adapter = FileAdapter(log)
    assert adapter.send(MESSAGE).delivered
    assert adapter.send(MESSAGE).delivered
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 2
    assert lines[0]["subject"] == "Nhắc lịch tiêm chủng"
    assert lines[0]["address"] == "0987 654 321" and lines[0]["message_id"] == "m-1"


def test_adapters_are_made_from_the_settings(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=str(tmp_path),
        sms_gateway_url="http://127.0.0.1:9/sms",
        webhook_url="http://127.0.0.1:9/zalo",
        webhook_secret="k",
    )
    assert {adapter_named(n, settings).name for n in ("file", "sms", "email", "webhook")} == {
        "file",
        "sms",
        "email",
        "webhook",
    }
    assert adapter_named("file", settings).path == tmp_path / "outbox.jsonl"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="IMMUNIS_SMS_GATEWAY_URL"):
        adapter_named("sms", Settings())
    with pytest.raises(ValueError, match="unknown adapter"):
        adapter_named("pigeon", settings)


def test_each_retry_waits_twice_as_long_up_to_a_day() -> None:
    assert [retry_delay(n, 60).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert retry_delay(30, 60).total_seconds() == 24 * 3600
