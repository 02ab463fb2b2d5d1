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
import gc
import marshal
import multiprocessing
import os
import pickle
import warnings
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, Sequence

from .exc import ConfigError, InvalidInput

Analyser = Callable[[dict[str, Any]], Any]

#: name -> pure function of one valid object; areas add theirs on import
ANALYSERS: dict[str, Analyser] = {}

#: inputs with fewer objects are checked in the calling process
PARALLEL_MIN = 10_000

Checked = tuple[list[InvalidInput], dict[str, Any]]

_pool: ProcessPoolExecutor | None = None
_pool_size = 0

#: worker processes for a large input: on two cores a second worker takes time from the
#: storing process and is slower overall (192 vs 208 µs per object at 50,000 objects)
WORKERS_DEFAULT = 1


def check_all(objs: Sequence[Any], positions: Sequence[int], analysers: Sequence[tuple[str, Analyser]]) -> list[Checked]:
    """Per object, its validation problems and, if it has none, each analyser's result
    under its name. Computed one step at a time over all the objects (validation, then
    each analyser) rather than object by object: the same pure functions,
    but a loop that runs one of them keeps its code and caches hot, where one that ran all
    of them per object kept evicting them (about a fifth of the worker's time, measured)."""
    from .stix.validate import check

    problems = [check(o, position=p) for o, p in zip(objs, positions)]
    valid = [o for o, pr in zip(objs, problems) if not pr]
    names = [name for name, _ in analysers]
    results = zip(*[[fn(o) for o in valid] for _, fn in analysers])
    out: list[Checked] = []
    append = out.append
    for pr in problems:
        if pr:
            append((pr, {}))
        else:
            append((pr, dict(zip(names, next(results))) if names else {}))
    return out


def _check_batch(payload: bytes, positions: list[int], analysers: list[tuple[str, Analyser]]) -> bytes:
    # a batch allocates some hundred thousand containers and forms no cycle; the cyclic
    # collector would walk them, and everything else this process holds, over and over
    paused = gc.isenabled()
    gc.disable()
    try:
        out: list[Checked | None] = check_all(_unpack(payload), positions, analysers)  # type: ignore[assignment]
        # the problems of rejected objects travel apart, so the rest can go by marshal
        rejected = [(i, c) for i, c in enumerate(out) if c[0]]  # type: ignore[index]
        for i, _ in rejected:
            out[i] = None
        head = pickle.dumps(rejected, protocol=pickle.HIGHEST_PROTOCOL) if rejected else b""
        return len(head).to_bytes(8, "little") + head + _pack(out)
    finally:
        if paused:
            gc.enable()


def _results(data: bytes) -> list[Checked]:
    """The results of a batch as _check_batch encoded them."""
    view = memoryview(data)
    n = int.from_bytes(view[:8], "little")
    out = _unpack(view[8 + n:])
    if n:
        for i, rejected in pickle.loads(view[8:8 + n]):
            out[i] = rejected
    return out


# A batch crosses the process boundary twice. marshal writes and reads the built-in types
# (dict, list, tuple, str, int, float, bool, None, ...) two to three times faster than
# pickle and gives back exactly what it was given: NaN, -0.0, huge integers, lone
# surrogates, tuples as tuples. It refuses every other type (subclasses of the built-in
# ones, datetimes, errors) and nesting beyond its limit, and such a batch goes by pickle;
# the first byte says which.
_MARSHAL = b"M"
_PICKLE = b"P"


def _pack(data: Any) -> bytes:
    try:
        return _MARSHAL + marshal.dumps(data)
    except ValueError:
        return _PICKLE + pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)


def _unpack(data: bytes | memoryview) -> Any:
    view = memoryview(data)
    return marshal.loads(view[1:]) if view[:1] == _MARSHAL else pickle.loads(view[1:])


def _encode(objs: list[Any]) -> bytes:
    # the objects must reach the validator exactly as read, NaN, huge integers and lone
    # surrogates included: marshal or pickle, never JSON
    return _pack(objs)


def _context() -> multiprocessing.context.BaseContext:
    # fork would copy a web server's threads and locks; forkserver starts clean workers
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _executor(workers: int) -> ProcessPoolExecutor:
    global _pool, _pool_size
    if _pool is not None and _pool_size != workers:
        _pool.shutdown(cancel_futures=True)
        _pool = None
    if _pool is None:
        _pool = ProcessPoolExecutor(workers, mp_context=_context())
        _pool_size = workers
    return _pool


def _warm(modules: list[str]) -> None:
    import importlib

    for name in modules:
        importlib.import_module(name)


def prestart(n: int) -> None:
    """Start the workers for an input of about n objects now.

    A worker's start (a process from the fork server, then the validator's and the
    analysers' imports) took about 0.7 s before the first batch came back; started while
    the caller still reads the input, it is ready when the first batch is. A worker that
    fails to start is found, and replaced by checking in the calling process, by
    :func:`checked`.
    """
    workers = workers_for(n)
    if not workers:
        return
    modules = sorted({"grotius.stix.validate", *(fn.__module__ for fn in ANALYSERS.values())})
    try:
        pool = _executor(workers)
        for _ in range(workers):
            pool.submit(_warm, modules)
    except (BrokenProcessPool, RuntimeError, OSError):
        return


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(cancel_futures=True)
        _pool = None


atexit.register(shutdown)


def workers_for(n: int) -> int:
    """How many worker processes check an input of n objects (0: the calling process).

    ``GROTIUS_INGEST_WORKERS`` sets the number; by default large inputs get WORKERS_DEFAULT.
    """
    setting = os.environ.get("GROTIUS_INGEST_WORKERS", "").strip()
    if setting:
        if not setting.isdigit():
            raise ConfigError(f"GROTIUS_INGEST_WORKERS must be a whole number of processes, not {setting!r}",
                              setting="GROTIUS_INGEST_WORKERS")
        return int(setting)
    if (os.cpu_count() or 1) < 2 or n < PARALLEL_MIN:
        return 0
    return WORKERS_DEFAULT


#: batches handed to each worker ahead of the one the storing process waits for: enough
#: that a worker never idles, few enough that a large input is not copied into the
#: pool's queues (and its results into memory) all at once
AHEAD = 3


def checked(
    batches: Sequence[Sequence[tuple[int, Any]]], workers: int
) -> Iterator[list[Checked]]:
    """Per batch of (position, object) pairs, the check results in order.

    With workers, a few batches per worker are in flight ahead of the one being
    stored, so the workers never wait for the storing process; results come back in
    order.
    """
    analysers = list(ANALYSERS.items())
    if not workers:
        for batch in batches:
            yield check_all([o for _, o in batch], [p for p, _ in batch], analysers)
        return
    window = (AHEAD + 1) * workers
    futures: deque[Future[bytes]] = deque()
    done = 0
    try:
        pool = _executor(workers)
        for b in batches[:window]:
            futures.append(_submit(pool, b, analysers))
        while futures:
            res = futures.popleft().result()
            nxt = done + len(futures) + 1
            if nxt < len(batches):
                futures.append(_submit(pool, batches[nxt], analysers))
            out = _results(res)
            done += 1
            yield out
    except (BrokenProcessPool, RuntimeError, OSError) as e:
        # a worker that dies (killed, out of memory, a script without a main guard)
        # costs speed, never a result: check the rest here
        _give_up(e)
        yield from checked(batches[done:], 0)
    finally:
        for f in futures:
            f.cancel()


def _submit(pool: ProcessPoolExecutor, batch: Sequence[tuple[int, Any]],
            analysers: list[tuple[str, Analyser]]) -> Future[bytes]:
    return pool.submit(_check_batch, _encode([o for _, o in batch]), [p for p, _ in batch], analysers)


def _give_up(e: BaseException) -> None:
    global _pool
    warnings.warn(f"ingest worker unavailable ({e}); checking in this process", RuntimeWarning, stacklevel=3)
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
