"""Email through an SMTP server (smtplib): STARTTLS and login when configured.

A message addressed to a phone number goes to ``<number>@<sms domain>`` when an email-to-SMS
gateway's domain is configured, and fails for good when none is. A 4xx answer from the server is
retried later, a 5xx is final.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from immunis.outreach.delivery import DeliveryResult, OutgoingMessage
from immunis.outreach.phones import international_number


class SmtpAdapter:
    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        from_address: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        sms_domain: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.from_address = from_address
        self.username = username
        self.password = password
        self.starttls = starttls
        self.sms_domain = sms_domain
        self.timeout = timeout

    def recipient(self, address: str) -> str | None:
        if "@" in address:
            return address
        if self.sms_domain:
            return f"{international_number(address).lstrip('+')}@{self.sms_domain}"
        return None

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        to = self.recipient(message.address)
        if to is None:
            return DeliveryResult(
                False, error="no email address, and no email-to-SMS domain", permanent=True
            )
        email = EmailMessage()
        email["From"] = self.from_address
        email["To"] = to
        email["Subject"] = message.subject
        email["Message-ID"] = f"<{message.id}@immunis>"
        email.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as server:
                if self.starttls:
                    server.starttls()
                if self.username and self.password:
                    server.login(self.username, self.password)
                server.send_message(email)
        except smtplib.SMTPResponseException as error:
            reason = (
                error.smtp_error.decode(errors="replace")
                if isinstance(error.smtp_error, bytes)
                else str(error.smtp_error)
            )
            return DeliveryResult(
                False, error=f"SMTP {error.smtp_code}: {reason}", permanent=error.smtp_code >= 500
            )
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            return DeliveryResult(
                False,
                error=f"recipient refused: {error.recipients}",
                permanent=all(code >= 500 for code in codes),
            )
        except (smtplib.SMTPException, OSError) as error:
            return DeliveryResult(False, error=f"{type(error).__name__}: {error}")
        return DeliveryResult(True, provider_id=email["Message-ID"])
