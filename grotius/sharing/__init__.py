"""Sharing between nodes: partners, agreements, disclosure policy, sync, audit, signatures."""


def _register_hooks() -> None:
    # The store imports grotius.sharing.schema on every open (migrations), which runs this
    # package's __init__ first: the hooks are in place before any ingest of any node.
    from ..ingest import HOOKS, PREPARE
    from . import audit, signing

    if signing.prepare not in PREPARE:
        PREPARE.append(signing.prepare)
    for hook in (audit._write_hook, signing._record_hook):
        if hook not in HOOKS:
            HOOKS.append(hook)


_register_hooks()
