"""Small psycopg helpers shared by the loaders and the orders service's writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


@contextmanager
def transaction(conn: psycopg.Connection) -> Iterator[None]:
    """`conn.transaction()`, refusing a connection that is already inside one.

    Inside an open transaction psycopg would only make a savepoint, and nothing would be committed.
    """
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        raise ValueError("the connection is inside a transaction; commit or roll back first")
    with conn.transaction():
        yield
