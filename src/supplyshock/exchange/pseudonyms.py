"""Pseudonyms: how one member names another on the exchange without learning who it is.

``pseudonym(viewer, other, key=...)`` is ``"M-"`` followed by the first 10 base32 characters
(50 bits) of ``HMAC-SHA256(key, "pseudonym|v1|" + viewer + "|" + other)``:

- **stable per pair**: the same viewer always sees the same counterpart under the same name, so
  it can tell "the holder I talked to yesterday" from a new one;
- **different for each viewer**: two members comparing notes cannot tell whether they deal
  with the same counterpart, because the viewer's id is part of the message;
- **not guessable**: without the server's key (``Settings.secret_key``) nobody, including a
  member who knows every member id, can compute or invert a pseudonym. Rotating the key
  renames everybody at once.

The key is passed in: the API and the web pages pass their application's settings
(``app.state.settings``), so ``create_app(Settings(secret_key=...))`` names members with that
key. Only a caller that passes nothing (the CLI, scripts) gets the environment's settings.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

PREFIX = "M-"
LENGTH = 10  # base32 characters: 50 bits, so collisions among a few thousand members are rare


def resolve_key(key: str | None) -> str:
    """``key``, or for callers outside a server (CLI, scripts) the environment's settings'."""
    if key is not None:
        return key
    from supplyshock.settings import get_settings  # only for callers that pass no key

    return get_settings().secret_key


def pseudonym(viewer_member_id: str, other_member_id: str, *, key: str | None = None) -> str:
    """How ``viewer_member_id`` sees ``other_member_id`` under the server key ``key``."""
    secret = resolve_key(key).encode("utf-8")
    message = f"pseudonym|v1|{viewer_member_id}|{other_member_id}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return PREFIX + base64.b32encode(digest).decode("ascii")[:LENGTH]
