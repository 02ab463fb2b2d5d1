"""Web pages and REST API for the audit log and provenance signatures (grotius.sharing)."""
