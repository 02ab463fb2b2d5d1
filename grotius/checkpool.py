"""Checking objects in a worker process while the calling process stores them.

Validation and the per-object analysis that hooks need (the correlation values of an
object, say) depend on one object alone and cost about as much CPU as storing it. A
large input is therefore cut into batches that a worker process checks and analyses
while the main process stores the batch before: ingest runs on two cores instead of
one. Small inputs stay in the calling process, where starting a worker would cost more
than it saves.

Analysers are pure functions of one valid object registered in :data:`ANALYSERS`
under a name; their results reach ingest hooks as ``Stored.derived[name]``. A hook must
compute the same thing itself when the entry is missing (small inputs, or an object a
prepare step replaced), so the worker only ever saves time and never changes a result.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import pickle
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, Sequence

from .exc import InvalidInput

Analyser = Callable[[dict[str, Any]], Any]

#: name -> pure function of one valid object; areas add theirs on import
ANALYSERS: dict[str, Analyser] = {}

#: inputs with fewer objects are checked in the calling process
PARALLEL_MIN = 10_000

Checked = tuple[list[InvalidInput], dict[str, Any]]

_pool: ProcessPoolExecutor | None = None


def check_one(obj: Any, position: int, analysers: Sequence[tuple[str, Analyser]]) -> Checked:
    from .stix.validate import check

    problems = check(obj, position=position)
    if problems:
        return problems, {}
    return problems, {name: fn(obj) for name, fn in analysers}


def _check_batch(payload: bytes, positions: list[int], analysers: list[tuple[str, Analyser]]) -> bytes:
    objs = pickle.loads(payload)
    out = [check_one(o, p, analysers) for o, p in zip(objs, positions)]
    return pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)


def _encode(objs: list[Any]) -> bytes:
    # pickle, not JSON: the objects must reach the validator exactly as read, NaN, huge
    # integers and lone surrogates included
    return pickle.dumps(objs, protocol=pickle.HIGHEST_PROTOCOL)


def _context() -> multiprocessing.context.BaseContext:
    # fork would copy a web server's threads and locks; forkserver starts clean workers
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(1, mp_context=_context())
        atexit.register(shutdown)
    return _pool


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(cancel_futures=True)
        _pool = None


def workers_for(n: int) -> int:
    """0 (check in process) or 1 (one worker beside the storing process)."""
    setting = os.environ.get("GROTIUS_INGEST_WORKERS", "")
    if setting == "0" or (os.cpu_count() or 1) < 2:
        return 0
    if setting == "1":
        return 1
    return 1 if n >= PARALLEL_MIN else 0


def checked(
    batches: Sequence[Sequence[tuple[int, Any]]], workers: int
) -> Iterator[list[Checked]]:
    """Per batch of (position, object) pairs, the check results in order.

    With a worker, every batch is handed over at once, so the worker never waits for
    the main process; results come back in order.
    """
    analysers = list(ANALYSERS.items())
    if not workers:
        for batch in batches:
            yield [check_one(o, p, analysers) for p, o in batch]
        return
    try:
        pool = _executor()
        futures: list[Future[bytes]] = [
            pool.submit(_check_batch, _encode([o for _, o in b]), [p for p, _ in b], analysers)
            for b in batches
        ]
    except (BrokenProcessPool, RuntimeError, OSError) as e:
        _give_up(e)
        yield from checked(batches, 0)
        return
    try:
        for i, f in enumerate(futures):
            try:
                res = f.result()
            except BrokenProcessPool as e:
                # a worker that dies (killed, out of memory, a script without a main
                # guard) costs speed, never a result: check the rest here
                _give_up(e)
                yield from checked(batches[i:], 0)
                return
            yield pickle.loads(res)
    finally:
        for f in futures:
            f.cancel()


def _give_up(e: BaseException) -> None:
    global _pool
    warnings.warn(f"ingest worker unavailable ({e}); checking in this process", RuntimeWarning, stacklevel=3)
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
