"""Writing to a user's ``-o`` path without replacing what the path points at.

Every command that writes a file the user named (``export -o``, ``feeds export -o``,
``report -o``, the TUI's export) goes through :func:`open_output`, because "write a
temp file and rename it over the target" is only right for one kind of target:

- an existing **regular file** (or a symlink to one) is replaced atomically — a
  temp file in the *real* file's directory, renamed over it — so a reader or a
  crash never sees half a file; the link stays a link, the file keeps its mode
  (and owner, where we may set it). A directory that refuses a temp file (but
  whose file is writable) gets the file rewritten in place instead;
- a **missing path** becomes a new regular file with the mode the umask gives
  (0644 usually, like a shell redirect — not ``mkstemp``'s 0600);
- anything else that exists — a **FIFO**, a **device** (``/dev/null``, ``/dev/full``,
  a tty), ``/dev/stdout`` — is opened and **written through**: renaming over it
  would turn the device into a file and the reader at the other end of a FIFO
  would wait forever. ``/dev/stdout``, ``/dev/stderr`` and ``/dev/fd/N`` write to
  the process's own descriptor, so ``-o /dev/stdout >> log`` appends as the shell
  arranged;
- a directory, a missing parent directory or a path we may not write is an
  :class:`OutputError` with one clear line; nothing is created.

Write failures (``ENOSPC`` from ``/dev/full`` or a full disk) are raised as
:class:`OutputError` too — *after* the stream was flushed and synced, so a
command that prints "exported …" only does so when the bytes are really out.
``BrokenPipeError`` passes through unchanged: a closed pipe (``| head``) is not an
error, and the CLI handles it quietly.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import secrets
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import CrisiswatchError
from .termsafe import one_line

__all__ = ["OutputError", "describe_os_error", "open_output", "output_label", "write_output"]


class OutputError(CrisiswatchError):
    """The output could not be written; the message is one line for the user (exit code 1)."""


_REASONS = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.EISDIR: "is a directory",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.ENOENT: "no such file or directory",
    errno.ENXIO: "nothing is reading it (a socket or a device without a driver)",
    errno.EIO: "input/output error",
}


def describe_os_error(exc: OSError) -> str:
    """A short reason for ``exc`` that reads well after a path: "disk full", "permission denied"."""
    return _REASONS.get(exc.errno or 0) or exc.strerror or str(exc) or type(exc).__name__


_OWN_FD = re.compile(r"^/(?:dev/(?:std(?P<std>in|out|err)|fd/(?P<dev>\d+))|proc/self/fd/(?P<proc>\d+))$")
_STD_FD = {"in": 0, "out": 1, "err": 2}


def _own_fd(path: str) -> int | None:
    """The descriptor a ``/dev/stdout``-like path names, or None for an ordinary path."""
    m = _OWN_FD.match(path)
    if not m:
        return None
    if m.group("std"):
        return _STD_FD[m.group("std")]
    return int(m.group("dev") or m.group("proc"))


def output_label(path: str | os.PathLike[str] | None) -> str:
    """What a message should call the output: the real file for a regular path, else the path as given.

    Terminal-safe (a path from the command line can hold escapes too).
    """
    if path is None or os.fspath(path) == "-":
        return "stdout"
    text = os.path.expanduser(os.fspath(path))
    if _own_fd(text) is None:
        try:
            st = os.stat(text)
        except OSError:
            st = None
        if st is None or stat.S_ISREG(st.st_mode):
            text = os.path.realpath(text)
    return one_line(text)


def _fail(label: str, reason: str) -> OutputError:
    return OutputError(f"cannot write {label}: {reason}")


def _wrap(fd: int, binary: bool, encoding: str, newline: str | None) -> IO[Any]:
    if binary:
        return os.fdopen(fd, "wb")
    return os.fdopen(fd, "w", encoding=encoding, newline=newline)


def _close_quietly(stream: IO[Any]) -> None:
    with contextlib.suppress(OSError, ValueError):
        stream.close()


@contextlib.contextmanager
def _through(fd: int, label: str, binary: bool, encoding: str, newline: str | None) -> Iterator[IO[Any]]:
    """Write straight into ``fd`` (ours to close), turning write errors into :class:`OutputError`."""
    stream = _wrap(fd, binary, encoding, newline)
    try:
        yield stream
        stream.flush()
    except BrokenPipeError:
        _close_quietly(stream)
        raise
    except OSError as exc:
        _close_quietly(stream)
        raise _fail(label, describe_os_error(exc)) from None
    except BaseException:
        _close_quietly(stream)
        raise
    try:
        stream.close()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise _fail(label, describe_os_error(exc)) from None


@contextlib.contextmanager
def _stdout(binary: bool, encoding: str, newline: str | None) -> Iterator[IO[Any]]:
    try:
        sys.stdout.flush()
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):
        fd = -1
    if fd < 0:
        # stdout was replaced by something without a descriptor (a test's capture): write to it as it is.
        stream: IO[Any] = sys.stdout.buffer if binary and hasattr(sys.stdout, "buffer") else sys.stdout
        try:
            yield stream
            stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _fail("stdout", describe_os_error(exc)) from None
        return
    # A private duplicate: our own encoding and newline handling, and a failed write leaves
    # nothing in sys.stdout's buffer for the interpreter to fail on again at exit.
    with _through(os.dup(fd), "stdout", binary, encoding, newline) as stream:
        yield stream


def _new_file_in(directory: str, name: str) -> tuple[int, str]:
    """Create a hidden temp file next to the target; mode 0666 minus the umask, as a new file would get."""
    for _ in range(100):
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "cannot pick a temporary file name", directory)


@contextlib.contextmanager
def open_output(path: str | os.PathLike[str] | None, *, binary: bool = False, encoding: str = "utf-8",
                newline: str | None = "") -> Iterator[IO[Any]]:
    """A stream for the user's output path (None or ``-``: stdout), written as the module docstring says.

    The stream is committed (flushed, synced, renamed into place) when the block
    ends without an exception; if the block raises, a temp file is removed and
    the target is left exactly as it was. ``newline=""`` by default: CSV writes
    its own line ends.
    """
    if path is None or os.fspath(path) == "-":
        with _stdout(binary, encoding, newline) as stream:
            yield stream
        return
    given = os.path.expanduser(os.fspath(path))
    label = one_line(given)
    if not given:
        raise OutputError("cannot write to an empty path")
    own = _own_fd(given)
    if own is not None:
        try:
            fd = os.dup(own)
        except OSError as exc:
            raise _fail(label, describe_os_error(exc)) from None
        with _through(fd, label, binary, encoding, newline) as stream:
            yield stream
        return
    try:
        st: os.stat_result | None = os.stat(given)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise _fail(label, describe_os_error(exc)) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise _fail(label, "it is a directory; give a file name")
    if st is not None and not stat.S_ISREG(st.st_mode):
        # FIFO, character/block device, socket: never replaced, written through.
        try:
            fd = os.open(given, os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise _fail(label, describe_os_error(exc)) from None
        with _through(fd, label, binary, encoding, newline) as stream:
            yield stream
        return

    real = os.path.realpath(given)  # through every symlink: the link stays, its target is written
    directory, name = os.path.split(real)
    if not os.path.isdir(directory):
        raise _fail(label, f"the directory {one_line(directory)} does not exist")
    try:
        fd, tmp = _new_file_in(directory, name)
    except OSError as exc:
        if st is None or not os.access(real, os.W_OK):
            raise _fail(label, describe_os_error(exc)) from None
        # The directory refuses new files but the file itself is writable: rewrite it in place.
        try:
            fd = os.open(real, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc2:
            raise _fail(label, describe_os_error(exc2)) from None
        with _through(fd, label, binary, encoding, newline) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        return
    stream = _wrap(fd, binary, encoding, newline)
    try:
        if st is not None:
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
            if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                with contextlib.suppress(OSError):  # only root may give a file away; keep what we can
                    os.fchown(fd, st.st_uid, st.st_gid)
        yield stream
        stream.flush()
        os.fsync(fd)
        stream.close()
        os.replace(tmp, real)
    except BaseException as exc:
        _close_quietly(stream)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
            raise _fail(label, describe_os_error(exc)) from None
        raise


def write_output(path: str | os.PathLike[str] | None, data: bytes | str, *, encoding: str = "utf-8") -> None:
    """Write all of ``data`` to the user's output path (see :func:`open_output`)."""
    if isinstance(data, str):
        with open_output(path, encoding=encoding, newline="") as out:
            out.write(data)
    else:
        with open_output(path, binary=True) as out:
            out.write(data)


def resolve(path: str | os.PathLike[str]) -> Path:
    """The file a regular-file output ends up in (symlinks followed)."""
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))
