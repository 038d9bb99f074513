"""`python -m seed [--seed N] [--summary | --json]`: print a seed's figures and row counts."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter

from seed.generate import generate
from seed.load import figures_json
from seed.model import Dataset
from seed.story import DEFAULT_SEED, STORY_CLOCK


def _money(value: object) -> str:
    return f"${value:>15,}"


def summary(ds: Dataset, seconds: float) -> str:
    f = ds.figures
    statuses = Counter(o.status for o in ds.orders)
    v2_orders = sum(1 for o in ds.orders if o.refunded_at is not None)
    lines = [
        f"seed {ds.seed}  (story clock {STORY_CLOCK:%Y-%m-%d %H:%M} UTC, generated in {seconds:.2f} s)",
        "",
        "Q2 2026",
        f"  gross (every Q2 order)        {_money(f.q2_gross)}",
        f"  cancelled                     {_money(f.q2_cancelled)}",
        f"  refunded, old flow (status)   {_money(f.q2_refunded_old_flow)}",
        f"  refunded, v2 (refunded_at)    {_money(f.v2_refunds_total)}",
        f"  revenue tile (mart)           {_money(f.tile_q2)}",
        f"  ERP net revenue               {_money(f.erp_q2_net)}",
        f"  gap (tile - ERP)              {_money(f.gap)}",
        "",
        "v2 refunds by day",
        *(f"  {day}                    {_money(amount)}" for day, amount in f.v2_refunds_by_day.items()),
        "",
        "rows",
        f"  customers          {len(ds.customers):>7}",
        f"  orders             {len(ds.orders):>7}  "
        + ", ".join(f"{status} {n}" for status, n in sorted(statuses.items()))
        + f"; v2-refunded {v2_orders}",
        f"  ledger entries     {len(ds.ledger):>7}",
        f"  schema migrations  {len(ds.migrations):>7}",
        f"  dbt runs           {len(ds.dbt_runs):>7}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seed", description=__doc__)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"variant seed (default {DEFAULT_SEED})")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--summary", action="store_true", help="print the figures and row counts (default)")
    output.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    ds = generate(args.seed)
    seconds = time.perf_counter() - started
    if args.json:
        print(json.dumps({"seed": ds.seed, **figures_json(ds.figures)}, indent=2))
    else:
        print(summary(ds, seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
