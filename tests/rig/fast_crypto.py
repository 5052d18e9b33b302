"""Key pairs and password hashes at test speed, for the in-process tests only (the served
instances of the end-to-end tests keep the real costs).

- Every actor ``create_actor`` makes needs a 2048-bit RSA key pair (about 50 ms each, several per
  test). Real pairs are generated as usual until ``POOL`` exist, then handed out again in turn:
  each test starts from an empty database, and no test creates ``POOL`` actors, so two actors of
  one test never share a pair.
- Argon2id with argon2-cffi's defaults (RFC 9106's second recommendation) costs about 150 ms a
  hash and as much a check. Tests use the same algorithm with small parameters (one pass over
  1 MiB), as Django advises for test suites; a hash made with the real parameters still
  verifies, since they are written in the hash.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

from argon2 import PasswordHasher

from federation.signatures import generate_rsa_keypair

POOL = 64
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def pooled_keypairs() -> Callable[[], tuple[str, str]]:
    """A drop-in for ``generate_rsa_keypair`` that makes ``POOL`` real pairs, then reuses them."""
    made: list[tuple[str, str]] = []
    turn: Iterator[int] = itertools.cycle(range(POOL))

    def keypair() -> tuple[str, str]:
        if len(made) < POOL:
            made.append(generate_rsa_keypair())
            return made[-1]
        return made[next(turn)]

    return keypair
