"""Matching: hit/no-hit without disclosure, requests for information, entity resolution.

Importing this package (the store does, for its migrations, before any ingest) registers
the ingest hook that keeps the requests-for-information table in step with the stored
request and decision objects."""


def _register_hooks() -> None:
    from .requests import register

    register()


_register_hooks()
