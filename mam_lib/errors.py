"""Errors a user can act on.

Every problem caused by input (a file that cannot be read, a prompt outside the image, a
checkpoint of the wrong model) is raised as a subclass of :class:`MamError` whose message names
the problem and what to do about it. The CLI prints these without a traceback; notebooks and
widgets show the message.
"""
from __future__ import annotations


class MamError(Exception):
    """Base class of errors caused by user input; the message says what to do."""


class CheckpointError(MamError):
    """A checkpoint file is missing, unreadable, truncated or of another model."""


class PromptError(MamError, ValueError):
    """A prompt (box, points, labels) is malformed, empty or outside the image."""


class ImageReadError(MamError):
    """An image cannot be read or has an unsupported layout."""


class VideoReadError(ImageReadError):
    """A clip (a video file or a folder of frames) cannot be read: missing, damaged, an unknown codec."""


class DatasetError(MamError):
    """A data folder has an unexpected layout, unpaired or mismatched files."""


class DownloadError(MamError):
    """A download failed or its checksum does not match."""


class OutputError(MamError):
    """An output cannot be written where it was asked for, or writing it would destroy a file the
    user keeps (an input of the same command, an existing file, a folder the project did not make),
    or another run is using the same folder."""


class ConfigError(MamError, ValueError):
    """A setting (a command-line option, a training-config field, an argument) is out of range."""


class MissingExtraError(MamError, ImportError):
    """An optional feature needs packages that are not installed; the message gives the pip command."""
