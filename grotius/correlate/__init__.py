"""Correlation and leads: value types, extraction, the value index, warninglists, leads.

Importing this package registers the ingest hook (``grotius.correlate.hook.on_ingest``),
so every ingest path (import, TAXII POST, sync) indexes what it stores."""

from grotius.correlate.hook import register as _register

_register()
