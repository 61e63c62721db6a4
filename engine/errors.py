"""Exceptions that the CLI turns into one clear line and an exit code (never a traceback).

Exit codes follow the contract of `deepscreen screen`: 1 runtime error, 2 usage error.
Verdict exit codes (0 real, 3 fake, 4 no decision) are produced by the screening command
itself, never by an exception, so that a crash can never read as a verdict.
"""

from __future__ import annotations

from engine.judge.verdicts import EXIT_ERROR as EXIT_RUNTIME_ERROR
from engine.judge.verdicts import EXIT_USAGE_ERROR

__all__ = ["EXIT_RUNTIME_ERROR", "EXIT_USAGE_ERROR", "BackendUnavailable", "DeepscreenError",
           "InputError", "ModelError", "UsageError"]


class DeepscreenError(Exception):
    """Base class for errors a user can act on. The message is shown as-is, on one line."""

    exit_code: int = EXIT_RUNTIME_ERROR


class UsageError(DeepscreenError):
    """The user asked for something impossible: a missing file, a bad option value."""

    exit_code = EXIT_USAGE_ERROR


class InputError(DeepscreenError):
    """An input (image, video, stream) could not be read or decoded."""

    exit_code = EXIT_USAGE_ERROR


class ModelError(DeepscreenError):
    """A model file is missing, corrupt, or does not match what the runtime expects."""

    exit_code = EXIT_RUNTIME_ERROR


class BackendUnavailable(DeepscreenError):
    """An optional backend (CUDA, TensorRT, pycuda, the CUDA extension) cannot be used here."""

    exit_code = EXIT_RUNTIME_ERROR
