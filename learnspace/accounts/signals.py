"""What accounts tells the domains above it, which it must not import (blinker signals, as Flask's own)."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A trusted identity provider vouched for a rostered person who is about to be signed in.
#: Sent with the User as sender and ``method`` ("oidc"). Receivers may refuse by raising a
#: LearnSpaceError (nothing is signed in then) and may return a short welcome line to show.
#: spaces listens: that is how the first sign-in through the identity provider activates a space.
identity_confirmed = _signals.signal("identity-confirmed")


def confirm_identity(person, method: str) -> list[str]:
    """Tell the listeners that *person*'s identity was confirmed; return their welcome lines."""
    return [line for _receiver, line in identity_confirmed.send(person, method=method) if line]
