"""ULIDs for the simulated world.

incident.io identifies almost everything with a ULID: 26 characters of Crockford
base32 carrying a 48-bit millisecond timestamp followed by 80 random bits. We make
them here in a few lines rather than taking a dependency: the format is tiny and
fixed, and the simulator needs something the ULID packages do not offer together —
a timestamp taken from the *simulated* clock (so an alert created "42 minutes ago"
has an id from 42 minutes ago) and randomness from a seeded generator (so the same
seed builds the same world, byte for byte, in tests and drills).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_LENGTH = 26
_MAX_RANDOM = (1 << 80) - 1


def encode_ulid(ms: int, randomness: int) -> str:
    """The 26-character ULID for a millisecond timestamp and 80 random bits."""
    if not 0 <= ms < (1 << 48):
        raise ValueError("ULID timestamp out of range")
    value = (ms << 80) | (randomness & _MAX_RANDOM)
    out = []
    for _ in range(ULID_LENGTH):
        out.append(CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(out))


def ulid_time(ulid: str) -> datetime:
    """When a ULID was made (to the millisecond)."""
    value = 0
    for ch in ulid[:10].upper():
        value = (value << 5) | CROCKFORD.index(ch)
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def is_ulid(text: str) -> bool:
    return len(text) == ULID_LENGTH and all(c in CROCKFORD for c in text.upper())


class IdFactory:
    """Makes ULIDs, deterministic for a given seed and sequence of timestamps.

    Within one millisecond the random part is incremented, as the ULID spec's
    monotonic mode does, so ids made in order also sort in order.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        self._last_ms = -1
        self._last_rand = 0

    def new(self, at: datetime) -> str:
        ms = int(at.timestamp() * 1000)
        if ms == self._last_ms and self._last_rand < _MAX_RANDOM:
            self._last_rand += 1
        else:
            self._last_ms = ms
            self._last_rand = self._rng.getrandbits(80)
        return encode_ulid(ms, self._last_rand)

    def token(self, nbytes: int = 24) -> str:
        """A random hex secret (for alert source tokens), from the same seeded stream."""
        return self._rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big").hex()
