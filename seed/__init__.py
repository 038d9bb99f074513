"""Deterministic seed data for the incident lab: schemas, generator, loaders and the orders service's writes.

Modules: `seed.generate` (generate(seed) -> Dataset), `seed.load` (schemas and bulk loads),
`seed.events` (the orders service's write primitives), `seed.story` (the incident's fixed facts).
"""

from seed.model import Customer, Dataset, DbtRun, Figures, LedgerEntry, Migration, Order
from seed.story import DEFAULT_SEED

__all__ = ["DEFAULT_SEED", "Customer", "Dataset", "DbtRun", "Figures", "LedgerEntry", "Migration", "Order"]
