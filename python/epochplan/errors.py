"""The exception tree of epochplan, defined once. The Rust extension raises these classes too."""


class EpochplanError(Exception):
    """Base of every error epochplan raises on purpose."""


class InputError(EpochplanError, ValueError):
    """The input cannot be used: missing file, unknown column, wrong type, no rows, bad option."""


class ConfigError(EpochplanError, ValueError):
    """A configuration file or option has an unknown key, a wrong type or an impossible value."""


class InternalError(EpochplanError, RuntimeError):
    """A bug in epochplan (including a Rust panic). Please report it."""


class StorageError(EpochplanError, OSError):
    """Reading or writing epochplan's own files failed: a full disk, a missing or unwritable
    temp directory. The message carries the OS's words and where it happened; `errno` is set
    when the OS gave a number."""


class EngineError(EpochplanError, RuntimeError):
    """The engine running the audit failed outside epochplan's own code: a Ray worker or node
    died, the cluster went away. Nothing was written; run again (or on the local engine)."""
