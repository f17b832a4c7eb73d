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
