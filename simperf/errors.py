"""The exceptions users see.

Every failure that is the user's to fix is one of these, with a message that names
the offending field path. The CLI turns them into exit status 2 without a traceback.
"""

from __future__ import annotations


class SimperfError(Exception):
    """Base class of all errors raised by simperf on bad input or bad state."""

    spec_path: str | None = None
    """The spec file the error is of, where a command reads two (``compare``'s SPEC and
    SPEC_B): set by the command line, which names it; None otherwise."""

    command_line: str | None = None
    """The message as the command line words it, where it differs from the Python API's
    (a results store's ``--out``, where Python's caller gave ``store=``); None: the same."""


class SpecError(SimperfError, ValueError):
    """A scenario specification (file, dict or override) is invalid.

    Parameters
    ----------
    message
        One line per problem, each ``path: what was expected``.
    """


class SpecFileError(SpecError):
    """A spec file cannot be read: missing, a directory or device, too big, or not UTF-8.

    A :class:`SpecError` (callers that catch any bad spec still catch it), told apart so
    that the message says ``cannot read file ...`` rather than "invalid spec".
    """


class BuildError(SimperfError):
    """A valid spec could not be turned into a runnable model."""


class SimulationError(SimperfError):
    """A run could not be completed (an internal invariant failed)."""


class StoreError(SimperfError):
    """A results store cannot be used as asked (exists, or belongs to another spec).

    Parameters
    ----------
    message
        The error as Python's caller reads it (``store=``, ``resume=True``).
    command_line
        The same for the command line (``--out``, ``--resume``), where it differs.
    """

    def __init__(self, message: str, command_line: str | None = None) -> None:
        super().__init__(message)
        self.command_line = command_line


class SimperfWarning(UserWarning):
    """A valid spec that is probably not what was meant (e.g. oversubscribed connections).

    Issued with :func:`warnings.warn`; the CLI prints each one to stderr as
    ``simperf: warning: ...`` and goes on.
    """
