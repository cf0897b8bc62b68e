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


class ChildError(CorpusfitError):
    """Work run in a child process raised; carries the child's exception type and message."""

    def __init__(self, what: str, type_name: str, message: str, child_traceback: str = ""):
        self.what = what
        self.type_name = type_name
        self.message = message
        self.child_traceback = child_traceback
        super().__init__(f"{what}: {type_name}: {message}")


class ChildTimeout(CorpusfitError):
    """Work run in a child process took longer than allowed; the child was killed."""


class NativeCrash(CorpusfitError):
    """A child process died on a signal (a crash in native code such as llama.cpp).

    The message names what was running, the signal, its likely cause and the fix.
    """

    def __init__(self, what: str, signal_name: str, cause: str, fix: str):
        self.what = what
        self.signal_name = signal_name
        self.cause = cause
        self.fix = fix
        super().__init__(f"{what} crashed: its process died on {signal_name}. "
                         f"Likely cause: {cause}. Fix: {fix}. (The Python stack at the crash "
                         "was printed to stderr.)")
