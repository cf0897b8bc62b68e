"""A backend that runs in its own process, so that its exit frees what it held.

vLLM keeps GPU memory (weights, KV cache, CUDA context) for the life of the process:
dropping the ``LLM`` object does not give it back, and the torch stages that follow
(mining, labeling, training) would run beside it. :class:`ChildBackend` builds the real
backend in a fresh ``spawn`` process and forwards ``generate`` calls over a pipe;
``close`` ends the process, and with it everything the backend allocated.

    backend = ChildBackend("corpusfit.generate.backends.vllm:VllmEngine", config, "vllm")
    completions = backend.generate(requests, sampling)
    backend.close()   # the child exits: its GPU memory is free
"""

from __future__ import annotations

import logging
import multiprocessing
from multiprocessing.connection import Connection

from corpusfit.errors import ChildError, CorpusfitError, NativeCrash
from corpusfit.generate.backends.base import Completion, Request
from corpusfit.generate.config import BackendConfig, SamplingConfig

logger = logging.getLogger(__name__)

_EXIT_WAIT = 30.0  # seconds a closing child may take before it is killed


def _serve(conn: Connection, target: str, config: BackendConfig, log_level: int) -> None:
    """The child: build ``target`` (``module:Class``) from ``config``, answer until closed."""
    import faulthandler

    from corpusfit.generate.backends.base import _import_class

    faulthandler.enable()  # a native crash prints the Python stack to stderr
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    try:
        backend = _import_class(target)(config)
    except Exception as e:  # noqa: BLE001 - the parent raises it
        conn.send(("error", _portable(e)))
        return
    conn.send(("ready", (backend.name, backend.model_name, getattr(backend, "batch_size", 10))))
    try:
        while True:
            message = conn.recv()
            if message[0] == "close":
                break
            try:
                conn.send(("ok", backend.generate(*message[1:])))
            except Exception as e:  # noqa: BLE001 - the parent raises it
                conn.send(("error", _portable(e)))
    finally:
        backend.close()
        conn.close()


def _portable(e: Exception) -> Exception:
    """``e`` if it pickles (a ConfigError stays one), else a ChildError with its text."""
    import pickle

    try:
        pickle.dumps(e)
        return e
    except Exception:  # noqa: BLE001 - any unpicklable exception
        return ChildError(f"{type(e).__name__}: {e}")


class ChildBackend:
    """The backend ``target`` (``module:Class``) run in a child process; same interface."""

    def __init__(self, target: str, config: BackendConfig, what: str):
        ctx = multiprocessing.get_context("spawn")
        self._what = what
        self._conn, child_end = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, name=f"corpusfit backend: {what}", daemon=True,
                                 args=(child_end, target, config,
                                       logging.getLogger().getEffectiveLevel()))
        self._proc.start()
        child_end.close()
        self.name, self.model_name, self.batch_size = self._receive()
        self.pid = self._proc.pid

    def _receive(self):
        try:
            status, payload = self._conn.recv()
        except (EOFError, OSError):
            self._proc.join(_EXIT_WAIT)
            raise self._death() from None
        if status == "error":
            raise payload
        return payload

    def _death(self) -> CorpusfitError:
        from corpusfit.isolation import describe_signal

        code = self._proc.exitcode
        if code is not None and code < 0:
            return NativeCrash(f"{self._what} (its backend process)", *describe_signal(-code))
        return ChildError(f"{self._what}: the backend process ended (exit code {code})")

    def generate(self, requests: list[Request], sampling: SamplingConfig) -> list[Completion]:
        self._conn.send(("generate", requests, sampling))
        return self._receive()

    def close(self) -> None:
        """End the child process (and free what it held); idempotent."""
        if self._proc.is_alive():
            try:
                self._conn.send(("close",))
            except OSError:
                pass
            self._proc.join(_EXIT_WAIT)
            if self._proc.is_alive():
                logger.warning("%s: the backend process did not exit; killing it", self._what)
                self._proc.kill()
                self._proc.join()
        self._conn.close()
