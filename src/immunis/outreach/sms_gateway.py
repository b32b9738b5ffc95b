"""SMS through an HTTP gateway: one JSON POST per message, bearer token authentication.

The body is ``{"to": "+84...", "from": sender, "text": ..., "reference": message id}``; any 2xx
answer means the gateway took the message (its ``id`` or ``message_id`` is kept), a 5xx, 408,
425 or 429 is retried later, any other answer is final. Most Vietnamese brandname-SMS
gateways take this shape, or a thin proxy can give it to them.
"""

from __future__ import annotations

import httpx

from immunis.outreach.delivery import DeliveryResult, OutgoingMessage, http_result
from immunis.outreach.phones import international_number


class SmsGatewayAdapter:
    name = "sms"

    def __init__(
        self, url: str, *, token: str | None = None, sender: str = "IMMUNIS", timeout: float = 10.0
    ) -> None:
        self.url = url
        self.sender = sender
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.timeout = timeout

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        body = {
            "to": international_number(message.address),
            "from": self.sender,
            "text": message.text,
            "reference": message.id,
        }
        try:
            response = httpx.post(self.url, json=body, headers=self.headers, timeout=self.timeout)
        except httpx.HTTPError as error:
            return DeliveryResult(False, error=f"{type(error).__name__}: {error}")
        return http_result(response)
