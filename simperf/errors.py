"""The exceptions users see.

Every failure that is the user's to fix is one of these, with a message that names
the offending field path. The CLI turns them into exit status 2 without a traceback.
"""

from __future__ import annotations

from typing import Self


class SimperfError(Exception):
    """Base class of all errors raised by simperf on bad input or bad state.

    Parameters
    ----------
    message
        The error as Python's caller reads it (``store=``, an override of ``overrides``).
    command_line
        The same for the command line (``--out``, ``--set``), where it differs.
    """

    spec_path: str | None = None
    """The spec file the error is of, where a command reads two (``compare``'s SPEC and
    SPEC_B): set by the command line, which names it; None otherwise."""

    command_line: str | None = None
    """The message as the command line words it, where it differs from the Python API's
    (a results store's ``--out``, where Python's caller gave ``store=``; an override's
    ``--set``, where Python's gave ``overrides``); None: the same."""

    def __init__(self, message: str = "", command_line: str | None = None) -> None:
        super().__init__(message)
        self.command_line = command_line

    def prefixed(self, prefix: str) -> Self:
        """The same error, of the same class, with ``prefix`` before both its wordings (a
        sweep's ``grid point ...:``), so that the command line keeps its own."""
        command_line = None if self.command_line is None else prefix + self.command_line
        return type(self)(prefix + str(self), command_line)


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
    """A results store cannot be used as asked (exists, or belongs to another spec): its
    message names Python's arguments (``store=``, ``resume=True``), its ``command_line``
    the command's flags (``--out``, ``--resume``)."""


class SimperfWarning(UserWarning):
    """A valid spec that is probably not what was meant (e.g. oversubscribed connections).

    Issued with :func:`warnings.warn`; the CLI prints each one to stderr as
    ``simperf: warning: ...`` (its ``command_line`` where it has one: an override's
    ``--set``, where Python's caller gave ``overrides``) and goes on.
    """

    def __init__(self, message: str = "", command_line: str | None = None) -> None:
        super().__init__(message)
        self.command_line = command_line
