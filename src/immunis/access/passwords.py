"""Signing in to the web pages: passwords kept as Argon2id hashes, never the password itself,
and the actor a signed-in user acts as."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from immunis.access.models import User
from immunis.access.policy import Actor
from immunis.access.service import actor_for, find_user
from immunis.errors import InvalidInput

MIN_LENGTH = 10
_hasher = PasswordHasher()
# Checked against when the username is unknown, so that a wrong name takes as long as a wrong
# password and response times do not tell which usernames exist.
_UNKNOWN_USER_HASH = _hasher.hash("no such user: this hash only costs time")


def hash_password(password: str) -> str:
    """An Argon2id hash of `password`; refuses passwords shorter than `MIN_LENGTH`."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_LENGTH} characters")
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _UNKNOWN_USER_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def set_password(session: Session, user: User, password: str) -> None:
    """Give `user` a new password (the old one stops working at once)."""
    user.password_hash = hash_password(password)
    session.flush()


def check_credentials(session: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None (never says which was wrong)."""
    user = find_user(session, username.strip())
    matched = password_matches(user.password_hash if user else None, password)
    if user is None or not matched or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash or ""):
        user.password_hash = _hasher.hash(password)
    return user


def signed_in_actor(session: Session, user_id: str, channel: str = "web") -> Actor | None:
    """The actor of a signed-in user, or None when the account is gone or deactivated."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    return actor_for(session, user, channel)
