"""Exceptions raised by envdoctor.

Every exception that crosses a public function is an :class:`EnvdoctorError`;
the CLI turns them into exit code 2 (bad input) and anything else into exit
code 3 (internal error).
"""

from __future__ import annotations


class EnvdoctorError(Exception):
    """Base class of every error envdoctor raises on purpose."""


class UsageError(EnvdoctorError):
    """The command line or an API argument is invalid (exit code 2)."""


class ModelFileError(EnvdoctorError):
    """A model path is missing, unreadable, truncated, corrupt or over a size bound (exit code 2).

    Attributes:
        path: the path as given by the caller.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class EnvironmentReadError(EnvdoctorError):
    """The target interpreter or environment cannot be read (exit code 2)."""


class ProbeError(EnvironmentReadError):
    """Running the target interpreter failed, crashed or printed something that is not our JSON."""


class ProbeTimeout(ProbeError):
    """The target interpreter did not answer within the timeout (seconds)."""
