"""One Node process that renders the Allure reports of a run, one after another.

``allure generate`` loads the whole Allure CLI (its 25 commands and their plugins) before it
renders anything: ~0.8 s of CPU per report, against ~0.1 s for rendering one gate's report.
``harness gate --all`` renders twelve. :class:`AllureRenderer` starts ``allure_render.mjs``
once, which loads only Allure's report core and takes the same steps ``allure generate`` takes
for each request, so the reports are the same; the process is started on the first request and
ends when :meth:`AllureRenderer.close` closes its stdin (or when the harness dies and the pipe
closes with it).

Requests are served one at a time (Node renders on one thread); packets built side by side do
the rest of their work meanwhile. A request that fails, or a process that dies or stops
answering within the timeout, gives a problem sentence for the packet's Allure status, and the
next request starts a fresh process.
"""

from __future__ import annotations

import collections
import json
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from typing import IO, Any

__all__ = ["GENERATE_TIMEOUT", "AllureRenderer"]

GENERATE_TIMEOUT = 300
_SCRIPT = Path(__file__).with_name("allure_render.mjs")
_ANSWER = "@@harness-allure "
_START_TIMEOUT = 60
_STOP_TIMEOUT = 5


class AllureRenderer:
    """Renders reports through one Node process; use as a context manager (closing stops it)."""

    def __init__(self, project: Path, timeout: float = GENERATE_TIMEOUT) -> None:
        self.project, self.timeout = project, timeout
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        self.starts = 0                     # processes started so far
        self._served = 0                    # requests the current process answered

    @property
    def pid(self) -> int | None:
        """The Node process's PID while one runs."""
        return self._process.pid if self._process is not None else None

    def __enter__(self) -> AllureRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def generate(self, config: Path, cwd: Path, results: Path) -> str | None:
        """Renders the report ``config`` describes from ``results``: None, or what went wrong."""
        request = json.dumps({"cwd": str(cwd), "config": str(config), "results": str(results)})
        with self._lock:
            problem = self._request(request)
            if problem is _GONE_BEFORE:     # it had served others and died idle: a new one
                problem = self._request(request)   # (a new process is never _GONE_BEFORE)
            return problem

    def _request(self, request: str) -> Any:
        if self._process is None:
            problem = self._start()
            if problem:
                return problem
        reused = self._served > 0
        try:
            self._process.stdin.write(request + "\n")
            self._process.stdin.flush()
            answer = self._answer(self.timeout)
        except OSError:
            answer = None
        if answer is _TIMEOUT:
            self._stop(kill=True)
            return f"allure generate took longer than {self.timeout:g} s"
        if answer is None:
            problem = self._died()
            # a process that had served requests may have died between them (killed, say):
            # the request is tried once more on a new one; a new process that dies has failed
            return _GONE_BEFORE if reused else problem
        self._served += 1
        return None if answer.get("ok") else f"allure generate failed: {answer.get('error')}"

    def close(self) -> None:
        with self._lock:
            self._stop(kill=False)

    # -- the process ---------------------------------------------------------------------------
    def _start(self) -> str | None:
        node = shutil.which("node")
        if node is None:
            return "Node.js is not installed here (node not on PATH)"
        self._answers, self._stderr, self._served = queue.Queue(), collections.deque(maxlen=20), 0
        self._process = subprocess.Popen(
            [node, str(_SCRIPT), str(self.project)], cwd=self.project, text=True, bufsize=1,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.starts += 1
        threading.Thread(target=_read_answers, args=(self._process.stdout, self._answers),
                         daemon=True, name="allure-answers").start()
        threading.Thread(target=_keep_tail, args=(self._process.stderr, self._stderr),
                         daemon=True, name="allure-stderr").start()
        ready = self._answer(_START_TIMEOUT)
        if ready is _TIMEOUT:
            self._stop(kill=True)
            return f"the Allure renderer did not start within {_START_TIMEOUT} s"
        if ready is None:
            return self._died()
        return None

    def _answer(self, timeout: float) -> Any:
        try:
            return self._answers.get(timeout=timeout)
        except queue.Empty:
            return _TIMEOUT

    def _died(self) -> str:
        process = self._process
        code = process.wait() if process is not None else None
        self._process = None
        last = self._stderr[-1].strip() if self._stderr else "no output"
        return f"allure generate failed (the renderer exited with {code}): {last}"

    def _stop(self, *, kill: bool) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if not kill:
            try:
                process.stdin.close()       # the script ends when its input ends
                process.wait(_STOP_TIMEOUT)
                return
            except (OSError, subprocess.TimeoutExpired):
                pass
        process.kill()
        process.wait()


_TIMEOUT = object()
_GONE_BEFORE = object()


def _read_answers(stream: IO[str], answers: queue.Queue) -> None:
    for line in stream:
        if line.startswith(_ANSWER):
            answers.put(json.loads(line[len(_ANSWER):]))
    answers.put(None)                       # end of output: the process is gone


def _keep_tail(stream: IO[str], tail: collections.deque[str]) -> None:
    for line in stream:
        if line.strip():
            tail.append(line)
