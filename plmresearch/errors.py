"""The package's error hierarchy.

Every error a user can trigger is a :class:`PlmError` (or a subclass) whose
message names the argument, column, file or value at fault and says what to do.
"""

from __future__ import annotations


class PlmError(Exception):
    """Base class of every error raised on purpose by plmresearch."""


class InputError(PlmError, ValueError):
    """An argument or a column of user data is invalid (wrong type, range, shape)."""


class ColumnError(InputError, KeyError):
    """A column named by the user is missing from the data."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class DatasetError(PlmError):
    """A dataset name, card or file is wrong."""


class UnknownDatasetError(DatasetError, KeyError):
    """No dataset of that name; the message lists the known names."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ChecksumError(DatasetError):
    """A downloaded or mirrored file does not have the SHA-256 its card promises."""


class DownloadError(DatasetError):
    """A file is not cached, not in the mirror, and could not be downloaded."""


class SpecError(PlmError):
    """A study spec or pilot config (YAML) is malformed."""


class ModelError(PlmError):
    """A model cannot be fitted as asked (unsupported structure, failed fit)."""


class PrivacyError(PlmError):
    """Data would leak: direct identifiers present, or a small cell would be shown."""


class PlmWarning(UserWarning):
    """Base class of every warning plmresearch emits on purpose.

    Silence or escalate them all in one line, e.g.
    ``warnings.simplefilter("ignore", plmresearch.PlmWarning)``.
    """
