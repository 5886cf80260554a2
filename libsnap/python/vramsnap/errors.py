"""Exceptions: one class per error kind of the library (vramsnap::ErrorKind),
each carrying the exit code vramsnap(1) gives that kind, so a Python server
and the command line report the same class for the same failure."""


class Error(Exception):
    """Base of every vramsnap failure. `exit_code` is vramsnap(1)'s code."""
    exit_code = 4

    def __init__(self, message, exit_code=None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class IntegrityError(Error):
    """Bad seal, wrong key, hash mismatch, unsealed file refused, too old (exit 1)."""
    exit_code = 1


class UsageError(Error, ValueError):
    """A bad argument or option value (exit 2)."""
    exit_code = 2


class FormatError(Error):
    """Not a snapshot, truncated, structurally corrupt (exit 3)."""
    exit_code = 3


class IoError(Error, OSError):
    """A read or write failed, an output exists (exit 4)."""
    exit_code = 4


class ResourceError(Error, MemoryError):
    """Out of host or GPU memory, or a cap exceeded (ErrorKind Limit and Resource; exit 5)."""
    exit_code = 5


class CompatError(Error):
    """No GPU or driver, or one the snapshot cannot use (exit 6)."""
    exit_code = 6


class Interrupted(Error):
    """Cancelled by the caller or a signal (exit 130)."""
    exit_code = 130


_BY_STATUS = {1: IntegrityError, 2: UsageError, 3: FormatError, 4: IoError, 5: ResourceError, 6: CompatError,
              130: Interrupted}


def from_status(status, message):
    cls = _BY_STATUS.get(status, Error)
    return cls(message, exit_code=status if cls is Error else None)
