"""How a message leaves immunis: the adapter interface every channel implements, what a try
at delivery comes to, and the adapters by name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import httpx

    from immunis.settings import Settings


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message ready to go: addressed, rendered in its language."""

    id: str
    channel: str
    address: str  # a phone number, or an email address
    language: str
    template: str
    subject: str
    body: str

    @property
    def text(self) -> str:
        return f"{self.subject}\n{self.body}"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    delivered: bool
    error: str | None = None
    permanent: bool = False  # trying again will not help (a refused number, a bad request)
    provider_id: str | None = None  # the gateway's id for the message, when it gives one


class DeliveryAdapter(Protocol):
    """A way to deliver messages. `send` answers for one message and never raises for a failed
    delivery: it says whether the failure is worth a retry."""

    name: str

    def send(self, message: OutgoingMessage) -> DeliveryResult: ...


# Worth a retry: the server timed out, is throttling us, or failed on its side.
RETRYABLE_STATUS = frozenset({408, 425, 429})


def http_result(response: httpx.Response) -> DeliveryResult:
    """What an HTTP gateway's answer means for the message."""
    if response.is_success:
        provider_id = None
        if "json" in response.headers.get("content-type", ""):
            body = response.json()
            if isinstance(body, dict):
                found = body.get("id") or body.get("message_id")
                provider_id = str(found) if found is not None else None
        return DeliveryResult(True, provider_id=provider_id)
    error = f"HTTP {response.status_code}: {response.text[:200]}"
    permanent = response.status_code < 500 and response.status_code not in RETRYABLE_STATUS
    return DeliveryResult(False, error=error, permanent=permanent)


# However many attempts failed, the next one waits no longer than this.
MAX_RETRY_DELAY = timedelta(days=1)


def retry_delay(attempt: int, base_seconds: int) -> timedelta:
    """How long to wait after failed attempt number `attempt`: the base, doubled each time."""
    return min(timedelta(seconds=base_seconds * 2 ** (attempt - 1)), MAX_RETRY_DELAY)


ADAPTER_NAMES = ("file", "sms", "email", "webhook")


def adapter_named(name: str, settings: Settings) -> DeliveryAdapter:
    """The adapter `name` configured from `settings`; ValueError when it cannot be made."""
    from pathlib import Path

    from immunis.outreach.email_smtp import SmtpAdapter
    from immunis.outreach.jsonl_file import FileAdapter
    from immunis.outreach.sms_gateway import SmsGatewayAdapter
    from immunis.outreach.webhook import WebhookAdapter

    if name == "file":
        return FileAdapter(Path(settings.data_dir) / "outbox.jsonl")
    if name == "sms":
        if not settings.sms_gateway_url:
            raise ValueError("the sms adapter needs IMMUNIS_SMS_GATEWAY_URL")
        token = settings.sms_gateway_token
        return SmsGatewayAdapter(
            settings.sms_gateway_url,
            token=token.get_secret_value() if token else None,
            sender=settings.sms_sender,
        )
    if name == "email":
        password = settings.smtp_password
        return SmtpAdapter(
            settings.smtp_host,
            settings.smtp_port,
            from_address=settings.smtp_from,
            username=settings.smtp_username,
            password=password.get_secret_value() if password else None,
            starttls=settings.smtp_starttls,
            sms_domain=settings.smtp_sms_domain,
        )
    if name == "webhook":
        if not settings.webhook_url or not settings.webhook_secret:
            raise ValueError("the webhook adapter needs IMMUNIS_WEBHOOK_URL and _SECRET")
        return WebhookAdapter(settings.webhook_url, settings.webhook_secret.get_secret_value())
    raise ValueError(f"unknown adapter {name!r}; choose one of {', '.join(ADAPTER_NAMES)}")
