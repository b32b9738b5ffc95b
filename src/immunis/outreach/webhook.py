"""A Zalo-style webhook: the message as JSON, POSTed to a URL with an HMAC-SHA256 signature.

The receiver (a Zalo Notification Service bridge, a chat bot) checks
``X-Immunis-Signature: sha256=<hex>``, the HMAC of ``<X-Immunis-Timestamp>.<body>`` under the
shared secret, and refuses old timestamps, so a captured request cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from immunis.outreach.delivery import DeliveryResult, OutgoingMessage, http_result
from immunis.outreach.phones import international_number

SIGNATURE_HEADER = "X-Immunis-Signature"
TIMESTAMP_HEADER = "X-Immunis-Timestamp"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for a body sent at `timestamp` (Unix seconds)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


class WebhookAdapter:
    name = "webhook"

    def __init__(self, url: str, secret: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.secret = secret
        self.timeout = timeout

    def send(self, message: OutgoingMessage) -> DeliveryResult:
        body = json.dumps(
            {
                "message_id": message.id,
                # Zalo writes numbers as 84xxxxxxxxx, without the plus.
                "phone": international_number(message.address).lstrip("+"),
                "template": message.template,
                "language": message.language,
                "subject": message.subject,
                "text": message.text,
            },
            ensure_ascii=False,
        ).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(self.secret, timestamp, body),
        }
        try:
            response = httpx.post(self.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as error:
            return DeliveryResult(False, error=f"{type(error).__name__}: {error}")
        return http_result(response)
