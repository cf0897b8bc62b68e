"""Errors that the CLI turns into one readable message and exit code 2."""


class CorpusfitError(Exception):
    """A user-facing error: bad input, bad config, missing model."""


class DataError(CorpusfitError):
    """A malformed input file. The message names the file, the line and the reason."""

    def __init__(self, path, line: int | None, reason: str):
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


class ConfigError(CorpusfitError):
    """A bad configuration value; the message names the key."""
