"""The packets folder (``--out``): checked before work starts, locked per gate, replaced atomically.

- :func:`check_writable` proves ``--out`` can take a packet (exists or can be made, is a
  folder, accepts a write and has room for one) before any suite runs, so a long run never
  ends in "cannot write".
- :func:`gate_lock` is a lock per packets folder and gate (``OUT/.S03.lock``, ``flock``): a
  second ``harness gate S03`` or ``packet build`` writing the same packet at the same time
  refuses in one line instead of mixing its work with the first. The kernel drops the lock when
  its holder dies, however it dies.
- Packets are built in a staging folder ``OUT/.S03-building-<pid>-*`` and swapped in with one
  ``renameat2(RENAME_EXCHANGE)`` where the kernel has it, so a reader sees the old packet or the
  new one and never neither. Staging folders whose process is gone (killed with SIGKILL) are
  removed by the next build of that gate.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from harness.errors import ConfigError, HarnessError

__all__ = ["MIN_FREE_BYTES", "check_writable", "gate_lock", "remove_stale_staging", "staging_dir",
           "swap_into_place"]

MIN_FREE_BYTES = 20 * 1024 * 1024     # a packet with its Allure report and evidence
_PROBE_BYTES = 256 * 1024
_STAGING = re.compile(r"^\.(?P<gate>[^-]+)-(?:building|old)-(?P<pid>\d+)-")
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def check_writable(out_root: Path, option: str = "--out") -> None:
    """One ConfigError line unless ``out_root`` is a folder that takes a write with room to spare."""
    where = str(out_root)
    fix = f"pass {option} naming a writable folder with free space"
    if out_root.exists() and not out_root.is_dir():
        raise ConfigError(where, option, "is a file, not a folder", fix)
    try:
        out_root.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out_root, prefix=".write-check-") as probe:
            probe.write(b"\0" * _PROBE_BYTES)
            probe.flush()
            os.fsync(probe.fileno())
        free = shutil.disk_usage(out_root).free
    except OSError as exc:
        raise ConfigError(where, option, f"cannot be written ({exc.strerror or exc})", fix) from None
    if free < MIN_FREE_BYTES:
        raise ConfigError(where, option, f"has only {free // 1024} KiB free, less than a packet needs "
                          f"({MIN_FREE_BYTES // (1024 * 1024)} MiB)", fix)


@contextlib.contextmanager
def gate_lock(out_root: Path, gate_id: str) -> Iterator[None]:
    """Held while one process writes ``OUT/<gate>``; a second one refuses (HarnessError)."""
    out_root.mkdir(parents=True, exist_ok=True)
    path = out_root / f".{gate_id}.lock"
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise HarnessError(
                f"{out_root / gate_id}: another harness run ({holder}) is writing this gate's packet "
                f"right now: wait for it to finish, or pass --out to write elsewhere") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


def staging_dir(out_root: Path, gate_id: str) -> Path:
    """A fresh staging folder's path, not yet made: the caller makes it inside its ``try``, so
    a signal between making it and guarding it cannot leave it behind."""
    return out_root / f".{gate_id}-building-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_staging(out_root: Path, gate_id: str) -> list[Path]:
    """Removes staging and retired folders of ``gate_id`` whose process is gone."""
    removed = []
    if not out_root.is_dir():
        return removed
    for entry in out_root.iterdir():
        match = _STAGING.match(entry.name)
        if match and match["gate"] == gate_id and entry.is_dir() and not entry.is_symlink() \
                and not _alive(int(match["pid"])):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _exchange(a: Path, b: Path) -> bool:
    """Swaps two paths in one step (Linux renameat2); False where the kernel or libc lacks it."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def swap_into_place(staging: Path, destination: Path) -> None:
    """Puts the finished packet at ``destination``; an older packet there is then removed."""
    if not destination.exists():
        staging.rename(destination)
        return
    if _exchange(staging, destination):
        shutil.rmtree(staging, ignore_errors=True)   # now holds the old packet
        return
    retired = destination.with_name(f".{destination.name}-old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    destination.rename(retired)
    try:
        staging.rename(destination)
    except BaseException:
        retired.rename(destination)
        raise
    shutil.rmtree(retired, ignore_errors=True)
