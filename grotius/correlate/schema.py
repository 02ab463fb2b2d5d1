"""Database migrations of this area (see grotius/store/migrate.py). Append only."""

MIGRATIONS: list[str] = []
