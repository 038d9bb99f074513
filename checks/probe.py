"""Criterion 4, the live probe: fresh random activity through the orders service (new orders, v2
refunds, old-flow refunds, cancellations, all inside Q2), delivered by CDC, rebuilt — and the tile must
move exactly as the ERP does. The main defence against fixes that only work for the seeded data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import combinations
from typing import Any

from checks import money
from checks.outcome import CheckError
from lab import api
from lab.api import Lab
from seed import events

NEW, V2, OLD, CANCEL = "new order", "v2 refund", "old-flow refund", "cancellation"
KINDS = (NEW, V2, OLD, CANCEL)


@dataclass
class Action:
    kind: str
    order_id: int
    amount: Decimal

    @property
    def erp_effect(self) -> Decimal:
        """What the ledger posts for the quarter: a sale, or the reversal of the full amount."""
        return self.amount if self.kind == NEW else -self.amount


@dataclass
class Probe:
    seed: int
    at: datetime
    actions: list[Action] = field(default_factory=list)

    @property
    def erp_delta(self) -> Decimal:
        return sum((a.erp_effect for a in self.actions), Decimal("0.00"))

    @property
    def order_ids(self) -> list[int]:
        return sorted({a.order_id for a in self.actions})

    def summary(self) -> str:
        parts = []
        for kind in KINDS:
            n = sum(1 for a in self.actions if a.kind == kind)
            if n:
                parts.append(f"{n} {kind}{'s' if n > 1 else ''}")
        return f"probe seed {self.seed}: " + ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "story_time": self.at.isoformat(), "summary": self.summary(),
                "erp_delta_expected": str(self.erp_delta),
                "actions": [{"kind": a.kind, "order_id": a.order_id, "amount": str(a.amount)} for a in self.actions]}


def new_seed() -> int:
    return random.SystemRandom().randrange(1, 1_000_000)


def _pick(rng: random.Random, pool: list[int], k: int) -> list[int]:
    return rng.sample(pool, min(k, len(pool)))


def make(lab: Lab, seed: int) -> Probe:
    """Write the probe's activity through the orders service's own primitives (OLTP and ERP)."""
    rng = random.Random(seed)
    at = api.story_now(lab)
    probe = Probe(seed, at)
    with api.shop_connections(lab) as (shop, erp):
        refundable = api.eligible_orders(shop, ("paid", "shipped"), at)
        cancellable = api.eligible_orders(shop, ("pending", "paid"), at)
        v2 = _pick(rng, refundable, rng.randint(2, 4))
        old = _pick(rng, [o for o in refundable if o not in v2], rng.randint(1, 2))
        cancel = _pick(rng, [o for o in cancellable if o not in v2 + old], rng.randint(1, 2))
        amounts = dict(shop.execute("select order_id, amount from orders where order_id = any(%s)",
                                    (v2 + old + cancel,)).fetchall())

        new = []
        for i in range(rng.randint(2, 4)):
            status = "pending" if i and rng.random() < 0.25 else "paid"
            amount = api.random_amount(rng)
            oid = events.create_order(shop, erp, api.pick_customer(shop, rng), amount, at, status=status)
            probe.actions.append(Action(NEW, oid, amount))
            new.append((oid, amount, status))
        if rng.random() < 0.5:  # a refund right after the purchase, through the v2 flow
            oid, amount, _ = next(n for n in new if n[2] == "paid")
            amounts[oid] = amount
            v2.append(oid)

        closing = [(V2, o) for o in v2] + [(OLD, o) for o in old] + [(CANCEL, o) for o in cancel]
        rng.shuffle(closing)
        primitive = {V2: events.refund_v2, OLD: events.refund_old_flow, CANCEL: events.cancel}
        for kind, oid in closing:
            primitive[kind](shop, erp, oid, at)
            probe.actions.append(Action(kind, oid, Decimal(amounts[oid])))
    return probe


def erp_moved(lab: Lab, erp_before: Decimal, probe: Probe) -> Decimal:
    """The ledger must have moved by exactly the probe's own entries (nothing else writes meanwhile)."""
    moved = api.erp(lab) - erp_before
    if moved != probe.erp_delta:
        raise CheckError(f"the ERP moved by {money.signed(moved)} but the probe's own entries add up to "
                         f"{money.signed(probe.erp_delta)}: something else wrote to the shop during the check",
                         "pause anything writing by hand (`lab orders pause`) and run the check again")
    return moved


def explain_gap(probe: Probe, tile_delta: Decimal) -> str:
    """Which of the probe's kinds of activity the tile did not follow, if one or two kinds explain it."""
    by_kind = {k: sum((a.erp_effect for a in probe.actions if a.kind == k), Decimal(0)) for k in KINDS}
    present = [k for k in KINDS if any(a.kind == k for a in probe.actions)]
    for size in (1, 2):
        for ignored in combinations(present, size):
            if probe.erp_delta - sum(by_kind[k] for k in ignored) == tile_delta:
                said = [("the probe's new orders did not add to the tile" if k == NEW
                         else f"the probe's {k}s still count as revenue") for k in ignored]
                return " and ".join(said)
    return "the tile did not follow the probe's activity"
