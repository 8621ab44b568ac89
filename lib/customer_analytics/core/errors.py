"""Exceptions raised at the package boundary.

Every error that a user can cause (a bad file, column, parameter or config key)
is a :class:`InputError` whose message names the offending thing and says what
was expected, so that a failed notebook cell or report run can be fixed without
reading a traceback.
"""


class InputError(ValueError):
    """Bad input: a file, column, row, parameter or config key is not as expected."""


class ConfigError(InputError):
    """A configuration file or parameter is invalid."""


class StaleDataError(InputError):
    """The requested period has no transactions in the data (an export not refreshed, or a month
    before the data starts). The report CLI exits with its own code (4) so a scheduler can alert."""


class ReportExistsError(RuntimeError):
    """A report for the period exists already and ``--force`` was not given."""


class OutputError(InputError):
    """The output folder cannot be written (read-only, missing or full); nothing was published."""


class LockHeldError(RuntimeError):
    """Another run holds the lock of the period being reported."""
