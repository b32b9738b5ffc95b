"""The actor that command-line jobs act as: someone at the server's console, not an API user."""

from __future__ import annotations

from immunis.access.policy import Actor, Role


def system_actor(operator: str) -> Actor:
    """A national officer named after the operating-system user who runs the command.

    Whoever can run the `immunis` command on the server can reach the database directly, so the
    command line gets the widest reach a person may have (national officer: read and merge
    everywhere), and is held to account the same way: every use case it calls writes to the
    audit log with user id ``cli:<operator>`` and channel ``cli``. There is no user row behind it
    and no token: it cannot be used over HTTP.
    """
    user_id = f"cli:{operator}"[:36]
    return Actor(
        user_id=user_id,
        username=user_id,
        role=Role.NATIONAL_OFFICER,
        channel="cli",
    )
