"""The solved live set on disk, so that a process that starts does not solve it again.

Solving every cluster of a large publisher from nothing takes seconds (12 s at 50,000 booked
lines on two cores). A process that solved them writes them to one file per database
(`INVENTORY_SOLUTION_DIR`); the next process to start reads the file instead (about 1.5 s for
400 MB), then catches up with what was reserved or released since, as a running process does
(`booked.clusters_for`): a few changes are applied to their clusters, more re-solve only the
clusters they touched.

A file is used only when everything its clusters depend on is the same:

- the code that built them: a fingerprint of this package's source (a deploy changes it);
- the basis: the forecast run, the safety margins, the ad-unit tree and today;
- the database: the newest forecast run's creation time, and every reservation both know must
  have the same slots, audience, days and quantity (`booked.same_reservations`), so a database
  recreated at the same address never answers from another's solution.

Anything else (no file, another basis, a file that cannot be read) is a solve from nothing, as
without a file. The file is written by the app itself into a folder only it writes (it is a
pickle, and a pickle must never come from anyone else), readable by the app's user only: run
`flask inventory warm` as the user gunicorn runs as. It is replaced atomically, so a process
never reads one half written.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import ortools

log = logging.getLogger(__name__)

#: Bumped when the file's layout changes in a way the fingerprint does not show.
FORMAT = 1


def _fingerprint() -> str:
    digest = hashlib.sha256(f"{FORMAT} {sys.version} numpy {np.__version__} ortools {ortools.__version__}".encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


#: A hash of the inventory package's source and of the libraries that solve (an upgrade may pick
#: another flow of the same value), taken when the code is loaded: a stored solution is read only
#: by the code that wrote it, even by a worker forked from a master that loaded older files.
FINGERPRINT = _fingerprint()


def fingerprint() -> str:
    return FINGERPRINT


@dataclass(frozen=True)
class StoredSolutions:
    """Where one database's solved live set is kept on disk, and what identifies that database."""

    directory: Path
    #: the database's address (hashed into the file's name: it may hold a password)
    store: str
    #: when the newest forecast run was made: a database recreated at the same address differs
    identity: datetime | None

    @property
    def path(self) -> Path:
        name = hashlib.sha256(self.store.encode()).hexdigest()[:24]
        return self.directory / f"solution-{name}.pickle"

    def _header(self, basis: tuple) -> tuple:
        return (fingerprint(), basis, self.identity)

    def load(self, basis: tuple):
        """The stored live set (a `booked._Store`) solved on `basis`, or None."""
        try:
            with self.path.open("rb") as f:
                if pickle.load(f) != self._header(basis):
                    return None
                return pickle.load(f)
        except FileNotFoundError:
            return None
        except Exception:  # a damaged or foreign file is only a solve from nothing
            log.warning("Could not read the stored inventory solution %s; solving afresh", self.path, exc_info=True)
            return None

    def save(self, kept) -> None:
        """Write the live set (a `booked._Store`) and its header; a failure is logged, never raised."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _remove_abandoned(self.directory)
            fd, name = tempfile.mkstemp(dir=self.directory, prefix=".solution-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    pickle.dump(self._header(kept.basis), f, protocol=pickle.HIGHEST_PROTOCOL)
                    pickle.dump(kept, f, protocol=pickle.HIGHEST_PROTOCOL)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(name, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(name)
                raise
        except Exception:
            log.warning("Could not store the inventory solution in %s", self.directory, exc_info=True)


#: A file being written that is older than this was left by a process that died writing it.
ABANDONED_AFTER = 3600


def _remove_abandoned(directory: Path) -> None:
    """Remove what a process killed while writing left behind (each is hundreds of MB)."""
    cutoff = time.time() - ABANDONED_AFTER
    for left in directory.glob(".solution-*.tmp"):
        with contextlib.suppress(OSError):
            if left.stat().st_mtime < cutoff:
                left.unlink()
