"""The state directory (``.testplan/``, or an audit's ``--out DIR``): one writer at a time,
never a symlink, and nothing deleted outside it.

* :func:`state_lock` is held by every command that writes a state directory (``audit``,
  ``merge``, ``enumerate``): an OS lock (``flock`` on ``DIR/lock``, released by the kernel when
  the holder dies, however it dies) taken without waiting, so a second writer exits 2 at once
  naming the first one's pid. The lock file itself is never deleted (deleting a lock file lets
  two processes each lock a different file).
* ``.testplan`` that is a symlink is refused: testplan deletes and rewrites whole trees there;
  a symlink directly inside it (``trace``, ``mutants``, ``cache``: testplan makes none) is removed.
* :func:`remove_tree` deletes only what resolves inside the state directory, and deletes a tree
  whatever its modes (a scratch copy of a read-only source tree, left by a failed run).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError

LOCK_FILE = "lock"
DEFAULT_NAME = ".testplan"


def shown(directory: Path, root: Path | None = None) -> str:
    """How messages name a state directory: ``.testplan/`` for the project's own, else its path."""
    if root is not None and directory == root / DEFAULT_NAME:
        return f"{DEFAULT_NAME}/"
    return f"{directory}/"


def check_state_dir(directory: Path, root: Path | None = None) -> Path:
    """Create ``directory`` if needed and return its real path. InputError (exit 2) when it is
    a symlink (the project's ``.testplan`` only: an ``--out`` path is the caller's own choice) or
    cannot be created or written."""
    name = shown(directory, root)
    if directory.is_symlink() and root is not None and directory == root / DEFAULT_NAME:
        raise InputError(f"{name[:-1]} is a symlink (to {os.readlink(directory)}); testplan deletes and rewrites "
                         f"trees there, so it must be a real directory: remove the link (rm {directory})")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"{name[:-1]} exists and is not a directory; remove it or pass --out DIR") from None
    except PermissionError:
        parent = os.path.abspath(directory.parent)
        raise InputError(f"cannot create {name} (permission denied): make {parent} writable by this user, "
                         "or pass --out DIR") from None
    try:
        tempfile.TemporaryFile(dir=directory).close()  # the one honest test of writability
    except PermissionError:
        raise InputError(f"{name} is not writable (permission denied): make it writable by this user "
                         f"(chmod -R u+w {directory}), or pass --out DIR") from None
    return Path(os.path.realpath(directory))


@contextmanager
def state_lock(directory: Path, root: Path | None = None) -> Iterator[Path]:
    """Hold the writer's lock of ``directory`` (created if needed) for the ``with`` block; yields
    its real path. InputError (exit 2), without waiting, when another process holds it."""
    import fcntl

    name = shown(directory, root)
    real = check_state_dir(directory, root)
    try:
        fd = os.open(real / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except PermissionError:
        raise InputError(f"{name} is not writable (permission denied): make it writable by this user "
                         f"(chmod -R u+w {directory}), or pass --out DIR") from None
    except OSError as exc:
        raise InputError(f"cannot open {name}{LOCK_FILE} ({exc.strerror}): remove it, or pass --out DIR") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise InputError(f"another testplan (pid {holder}) is writing {name}; wait for it or use --out DIR") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        if root is not None and directory == root / DEFAULT_NAME:
            _drop_links(real)
        try:
            yield real
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


def _drop_links(state: Path) -> None:
    """Remove the symlinks directly in ``.testplan/`` (testplan makes none there): what testplan
    writes or deletes under ``trace/``, ``mutants/``, ``cache/`` must not land elsewhere. (Not
    done in an ``--out`` directory: that may be any directory of the user's.)"""
    for entry in os.scandir(state):
        if entry.is_symlink():
            os.unlink(entry.path)


def inside(path: Path, directory: Path) -> bool:
    """Whether ``path`` itself (its parent resolved, the last part as named: a symlink is the
    link) lies strictly inside the real ``directory``."""
    real_dir = Path(os.path.realpath(directory))
    located = Path(os.path.realpath(path.parent)) / path.name
    return located != real_dir and located.is_relative_to(real_dir)


def remove_tree(path: Path, state: Path) -> None:
    """Delete ``path`` (a tree, a file or a symlink: the link, never its target) after checking
    it lies inside the state directory ``state``; modes do not stop it (a read-only copy is made
    writable first). Raises InputError, deleting nothing, when ``path`` resolves elsewhere."""
    if not inside(path, state):
        raise InputError(f"refusing to delete {path}: it resolves to {os.path.realpath(path)}, outside the state "
                         f"directory {os.path.realpath(state)}; remove whatever links it there")
    if path.is_symlink() or path.is_file():
        path.unlink()
        return
    if not path.exists():
        return
    make_writable(path)
    shutil.rmtree(path)


def make_writable(tree: Path) -> None:
    """``u+rwx`` on every directory, ``u+w`` on every file of ``tree`` (symlinks are not followed)."""
    for directory, dirnames, filenames in os.walk(tree):
        _add_mode(directory, stat.S_IRWXU)
        for name in dirnames:
            _add_mode(os.path.join(directory, name), stat.S_IRWXU)
        for name in filenames:
            _add_mode(os.path.join(directory, name), stat.S_IRUSR | stat.S_IWUSR)


def _add_mode(path: str, bits: int) -> None:
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or info.st_mode & bits == bits:
        return
    os.chmod(path, stat.S_IMODE(info.st_mode) | bits)
