"""Small SQL helpers shared by the scans."""
from __future__ import annotations

from sqlalchemy import Integer, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY


def id_in(column, ids, dialect: str):
    """`column IN (...)`; on PostgreSQL `= ANY(array)`, one parameter however many ids (large IN lists
    cost more to build and parse than the lookup itself)."""
    ids = list(ids)
    if dialect == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
    return column.in_(ids)
