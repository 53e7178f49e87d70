"""Pseudonyms: how one member names another on the exchange without learning who it is.

``pseudonym(viewer, other)`` is ``"M-"`` followed by the first 10 base32 characters (50 bits) of
``HMAC-SHA256(secret_key, "pseudonym|v1|" + viewer + "|" + other)``:

- **stable per pair**: the same viewer always sees the same counterpart under the same name, so
  it can tell "the holder I talked to yesterday" from a new one;
- **different for each viewer**: two members comparing notes cannot tell whether they deal
  with the same counterpart, because the viewer's id is part of the message;
- **not guessable**: without the server's ``secret_key`` (settings) nobody, including a member
  who knows every member id, can compute or invert a pseudonym. Rotating the key renames
  everybody at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from supplyshock.settings import get_settings

PREFIX = "M-"
LENGTH = 10  # base32 characters: 50 bits, so collisions among a few thousand members are rare


def pseudonym(viewer_member_id: str, other_member_id: str, *, key: str | None = None) -> str:
    """How ``viewer_member_id`` sees ``other_member_id``; ``key`` defaults to the settings'."""
    secret = (key if key is not None else get_settings().secret_key).encode("utf-8")
    message = f"pseudonym|v1|{viewer_member_id}|{other_member_id}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return PREFIX + base64.b32encode(digest).decode("ascii")[:LENGTH]
