"""Schema step 3: from version 2 (flats, bills without lines) to the three-utility core."""
from __future__ import annotations

from sqlalchemy.engine import Connection


def upgrade(conn: Connection) -> None:
    raise NotImplementedError("the upgrade from schema version 2 is being written")
