"""Who may act on Hyperliquid's front: wallets (accounts by address), the API (agent) wallets
they approved, and every signer's nonces.

- A **user** is an address bound to a venue account (its `ApiKey`: scopes, tier, limits). Its
  key signs everything: L1 actions and user-signed ones (approveAgent, transfers).
- An **agent** (API wallet) is an address a user approved with `approveAgent`. It signs L1
  actions (orders, cancels, modifies, scheduleCancel, leverage) for its master and nothing else:
  a user-signed action it signs recovers to its own address, which holds nothing, so it can
  never move funds. One unnamed agent and up to three named ones per user; approving again
  under a name (or unnamed) replaces that agent. `"<name> valid_until <ms>"` sets an expiry.
- **Nonces** (per signer, user or agent): the 100 highest are kept; a new one must be larger
  than the smallest of them, never used before, and within (now - 2 days, now + 1 day).
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

from agenthft.venue.keys import ApiKey

MAX_NAMED_AGENTS = 3
NONCES_KEPT = 100
DAY_MS = 86_400_000


class Agent(NamedTuple):
    address: str  # checksummed
    master: str  # lower case
    name: str
    valid_until_ms: int  # 0: no expiry


class Signer(NamedTuple):
    """Who signed: the account's key record, the signer's address, and the master's address
    (the same when the user signed itself)."""

    record: ApiKey
    address: str
    user: str
    agent: bool


class Wallets:
    def __init__(self) -> None:
        self.users: dict[str, ApiKey] = {}  # lower-case address -> the account's venue key
        self.address_of: dict[str, str] = {}  # venue account -> checksummed address
        self.agents: dict[str, Agent] = {}  # lower-case agent address -> agent
        self._nonces: dict[str, list[int]] = {}

    def add_user(self, address: str, record: ApiKey) -> None:
        self.users[address.lower()] = record
        self.address_of.setdefault(record.account_id, address)

    def resolve(self, address: str, now_ms: int) -> Signer | None:
        """The account an address acts for, or None (unknown, or an expired agent)."""
        a = address.lower()
        rec = self.users.get(a)
        if rec is not None:
            return Signer(rec, address, a, False)
        agent = self.agents.get(a)
        if agent is None or (agent.valid_until_ms and agent.valid_until_ms < now_ms):
            return None
        rec = self.users.get(agent.master)
        return Signer(rec, address, agent.master, True) if rec is not None else None

    def approve(self, master: str, agent_address: str, name: str, now_ms: int) -> str | None:
        """Approve `agent_address` for the user `master`; an error text, or None."""
        m, a = master.lower(), agent_address.lower()
        if a in self.users:
            return f"Agent address {agent_address} is a user."
        held = self.agents.get(a)
        if held is not None and held.master != m:
            return f"Agent address {agent_address} is already used by another account."
        base, _, until = name.partition(" valid_until ")
        valid_until = 0
        if until:
            try:
                valid_until = int(until)
            except ValueError:
                return f"Invalid agent name: {name!r}"
        if len(base) > 16:
            return "Extra agent name must be between 1 and 16 characters long"
        mine = [x for x in self.agents.values() if x.master == m and x.address.lower() != a]
        same = [x for x in mine if x.name == base]
        if base and not same and sum(1 for x in mine if x.name) >= MAX_NAMED_AGENTS:
            return f"At most {MAX_NAMED_AGENTS} named API wallets per account."
        for old in same:  # approving again under a name (or unnamed) replaces that agent
            del self.agents[old.address.lower()]
            self._nonces.pop(old.address.lower(), None)
        self.agents[a] = Agent(agent_address, m, base, valid_until)
        return None

    def agents_of(self, master: str) -> list[Agent]:
        return [x for x in self.agents.values() if x.master == master.lower()]

    def check_nonce(self, signer: str, nonce: int, now_ms: int) -> str | None:
        """Record `signer`'s `nonce`, or the error text that refuses it."""
        if nonce <= now_ms - 2 * DAY_MS:
            return f"Invalid nonce: nonce too low {nonce} < {now_ms - 2 * DAY_MS}"
        if nonce >= now_ms + DAY_MS:
            return f"Invalid nonce: nonce too high {nonce} > {now_ms + DAY_MS}"
        kept = self._nonces.setdefault(signer.lower(), [])
        i = bisect.bisect_left(kept, nonce)
        if i < len(kept) and kept[i] == nonce:
            return f"Invalid nonce: duplicate nonce {nonce}"
        if len(kept) >= NONCES_KEPT and nonce < kept[0]:
            return f"Invalid nonce: nonce too low {nonce} < {kept[0]}"
        kept.insert(i, nonce)
        if len(kept) > NONCES_KEPT:
            del kept[0]
        return None
