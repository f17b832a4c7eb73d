"""The one exception hierarchy; the CLI maps each class to an exit code."""

from __future__ import annotations


class GitregError(Exception):
    """A registry rule refused the operation (exit 1)."""

    exit_code = 1


class UsageError(GitregError):
    """The caller's input is malformed: a bad name, version, value or path (exit 2)."""

    exit_code = 2


class NotFoundError(GitregError):
    """A registry, model, version or stage that does not exist."""


class ConflictError(GitregError):
    """The operation clashes with the registry's state or with a concurrent writer."""


class InvalidDocumentError(GitregError):
    """A YAML/JSON document broke the safe-loading rules or its schema."""


class ArtifactError(GitregError):
    """An artifact could not be read, hashed, stored or fetched."""


class GitError(GitregError):
    """git failed in a way gitreg did not expect (exit 3)."""

    exit_code = 3


def exit_code_for(error: BaseException) -> int:
    """The exit status a command ends with when ``error`` stops it: the
    class's own code for gitreg's errors, 130 for an interrupt, 141 when the
    reader of standard output went away (as git does), a click exit's own
    status, and 3 for anything unexpected."""
    if isinstance(error, GitregError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return 130
    if isinstance(error, BrokenPipeError):
        return 141
    code = getattr(error, "exit_code", None)  # click's Exit
    return code if isinstance(code, int) else 3
