"""How many processes ``coopub serve`` and ``coopub worker`` run, and the supervisor of them.

``[server] web_processes`` web processes share the listening socket (uvicorn's supervisor starts
them, restarts one that dies and stops them all on SIGTERM or SIGINT); ``[worker] processes``
worker loops run in processes of their own, never inside a web process (N web processes would
otherwise mean N workers). Both default to the cores this process may run on. With one of each,
``coopub serve`` is the single process it always was: the worker loop beside the web server.

Worker process 0 alone also runs the upkeep (expiry, hourly chores: instance/worker.py); the
others only claim rows, which the queue hands out exactly once (federation/queue.py).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from uvicorn.loops.auto import auto_loop_factory

from instance.app import LOG_LEVEL_ENV, build_federation
from instance.config import Config, load_config
from instance.logs import setup_logging
from instance.wake import listen_for_work, notifies
from models.db import check_database, close_db, open_db

log = logging.getLogger(__name__)
T = TypeVar("T")

WATCH_SECONDS = 1.0
"""How often the supervisor looks for a worker process that died (and starts another)."""
STOP_SECONDS = 20.0
"""How long a worker process has to finish its pass after SIGTERM before it is killed."""
HEALTHCHECK_SECONDS = 30
"""A web process that does not answer uvicorn's ping for this long is killed and replaced
(uvicorn's 5 s would kill processes still starting on a busy machine)."""


def cores() -> int:
    """The CPUs this process may run on (its affinity, e.g. under taskset or a cgroup cpuset)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Layout:
    web: int
    workers: int
    """Worker loops; 0 with ``--no-worker`` or ``run_worker = false``."""

    @property
    def worker_in_web_process(self) -> bool:
        """One web process and one worker: the loop runs beside the server, as it always did."""
        return self.web == 1 and self.workers == 1


def worker_count(config: Config, override: int | None = None) -> int:
    return override or config.worker.processes or cores()


def serve_layout(
    config: Config, *, web: int | None = None, workers: int | None = None, no_worker: bool = False
) -> Layout:
    """The processes ``coopub serve`` runs: the command line first, then instance.toml, then
    one per core."""
    run_worker = config.server.run_worker and not no_worker
    return Layout(
        web=web or config.server.web_processes or cores(),
        workers=worker_count(config, workers) if run_worker else 0,
    )


async def run_worker(
    config: Config,
    *,
    upkeep: bool = True,
    signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM),
) -> None:
    """One worker loop until one of ``signals``, in a process of its own (its priority
    lowered by ``[worker] nice``); on PostgreSQL it also listens for work."""
    from instance.worker import run_forever

    lower_priority(config.worker.nice)
    await check_database(config.database_url)
    await open_db(config.database_url)
    fed = build_federation(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    listening = None
    if notifies(config.database_url):
        listening = asyncio.create_task(listen_for_work(config.database_url, fed, stop))
    try:
        await run_forever(fed, stop, upkeep=upkeep)
    finally:
        stop.set()
        if listening:
            await listening
        await fed.aclose()
        await close_db()


def lower_priority(nice: int) -> None:
    """Add ``nice`` to this process's niceness (a worker process: the web ones run first on busy
    cores). Refused by the system (a sandbox), it says so and runs on as it is."""
    if not nice:
        return
    try:
        os.nice(nice)
    except OSError as exc:
        log.warning("worker priority unchanged", extra={"nice": nice, "error": str(exc)})


def run_on_fast_loop(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on the event loop the web processes run on (uvloop where installed,
    as uvicorn picks it): a worker's time is mostly asyncpg's and the loop's, both faster there."""
    with asyncio.Runner(loop_factory=auto_loop_factory()) as runner:
        return runner.run(main)


def worker_process(config_path: str, index: int, level: str) -> None:
    """The body of worker process ``index`` (spawned): stops on SIGTERM from the supervisor.

    SIGINT (Ctrl-C reaches the whole process group) is left to the supervisor, which then
    sends SIGTERM: one way to stop, never a KeyboardInterrupt halfway through start-up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    setup_logging(level)
    config = load_config(Path(config_path))
    run_on_fast_loop(run_worker(config, upkeep=index == 0, signals=(signal.SIGTERM,)))


class WorkerGroup:
    """Worker processes started, watched (one that dies is started again) and stopped."""

    def __init__(self, config_path: Path, count: int, level: str) -> None:
        self.config_path = config_path
        self.level = level
        self.processes: list[BaseProcess] = []
        self.count = count
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, name="worker supervisor", daemon=True)
        self.context = multiprocessing.get_context("spawn")

    def _start(self, index: int) -> BaseProcess:
        process = self.context.Process(
            target=worker_process,
            args=(str(self.config_path), index, self.level),
            name=f"coopub-worker-{index}",
        )
        process.start()
        return process

    def start(self) -> None:
        if not self.count:
            return
        self.processes = [self._start(i) for i in range(self.count)]
        self.watcher.start()

    def _watch(self) -> None:
        while not self.stopping.wait(WATCH_SECONDS):
            for index, process in enumerate(self.processes):
                if not process.is_alive() and not self.stopping.is_set():
                    log.error(
                        "worker process exited, starting another",
                        extra={"pid": process.pid, "exit_code": process.exitcode},
                    )
                    self.processes[index] = self._start(index)

    def stop(self) -> None:
        """SIGTERM to each (it finishes its pass), SIGKILL to one still running after
        ``STOP_SECONDS``."""
        self.stopping.set()
        if self.watcher.is_alive():
            self.watcher.join()
        for process in self.processes:
            if process.is_alive() and process.pid:
                os.kill(process.pid, signal.SIGTERM)
        for process in self.processes:
            process.join(STOP_SECONDS)
            if process.is_alive():
                process.kill()
                process.join()


def _ignore(signum: int, frame: FrameType | None) -> None:
    """Installed before uvicorn runs in this process: once stopped, uvicorn raises the signal
    that stopped it again, which must not end the supervisor before its workers are stopped."""


def serve(config: Config, layout: Layout, host: str, port: int, level: str) -> None:
    """Run the web processes (and the worker processes) of ``layout`` until SIGTERM or SIGINT."""
    import uvicorn

    from instance.app import create_app

    assert config.path is not None  # load_config sets it; the children read the same file
    os.environ["COOPUB_CONFIG"] = str(config.path)
    os.environ[LOG_LEVEL_ENV] = level
    own_workers = 0 if layout.worker_in_web_process else layout.workers
    group = WorkerGroup(config.path, own_workers, level)
    options = {
        "host": host,
        "port": port,
        "proxy_headers": True,
        "log_config": None,
        "access_log": False,
    }
    if own_workers and layout.web == 1:
        signal.signal(signal.SIGTERM, _ignore)
    group.start()
    try:
        if layout.web == 1:
            app = create_app(config, run_worker=layout.worker_in_web_process)
            uvicorn.run(app, **options)  # type: ignore[arg-type]
        else:
            uvicorn.run(
                "instance.app:app_from_environment",
                factory=True,
                workers=layout.web,
                timeout_worker_healthcheck=HEALTHCHECK_SECONDS,
                **options,  # type: ignore[arg-type]
            )
    finally:
        group.stop()


def run_workers(config: Config, count: int, level: str) -> None:
    """``coopub worker`` with several processes: supervise them until SIGTERM or SIGINT."""
    assert config.path is not None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stop.set())
    group = WorkerGroup(config.path, count, level)
    group.start()
    log.info("worker processes started", extra={"processes": count})
    try:
        while not stop.wait(WATCH_SECONDS):
            pass
    finally:
        group.stop()
        log.info("worker processes stopped", extra={"processes": count})
