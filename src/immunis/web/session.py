"""Web sessions: who is signed in, kept in a signed cookie, and the CSRF token of their forms.

The cookie holds the user's id, the CSRF token and when the session began, signed with the
server's secret key (itsdangerous): it cannot be forged or changed, and it expires after
`MAX_AGE`. The user is read again on every request, so a deactivated account stops at once.
Every visitor gets a session, signed in or not, so that the sign-in form has a CSRF token too.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

from immunis.settings import Settings

COOKIE = "immunis_session"
MAX_AGE = 12 * 3600  # a working day; then sign in again
KEY_FILE = "secret_key"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class WebSession:
    """One browser's session. `fresh` means the cookie must be (re)written in the answer."""

    user_id: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    fresh: bool = True

    def csrf_matches(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf, token or "")


def secret_key(settings: Settings) -> str:
    """The configured secret key, else the one generated into the data directory on first use
    (readable by the server's user only), so that no secret ever sits in the repository."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker made it first: read theirs
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class SessionSigner:
    """Turns sessions into cookie values and back."""

    def __init__(self, key: str) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="immunis.web.session")

    def dump(self, session: WebSession) -> str:
        return self._serializer.dumps({"u": session.user_id, "c": session.csrf})

    def load(self, cookie: str | None) -> WebSession:
        """The session in the cookie, or a new anonymous one if it is missing, forged or old."""
        if not cookie:
            return WebSession()
        try:
            data = self._serializer.loads(cookie, max_age=MAX_AGE)
        except BadSignature:
            return WebSession()
        return WebSession(user_id=data.get("u"), csrf=str(data.get("c")), fresh=False)
