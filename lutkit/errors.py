"""Errors raised by lutkit.

Every error says what went wrong, where (a file and, for text formats, a line) and,
where it helps, what to do. The library raises these; the CLI prints ``str(error)`` on
one line and exits non-zero.
"""

from __future__ import annotations

from os import PathLike


class LutkitError(Exception):
    """Base class of every error lutkit raises on bad input.

    ``str(error)`` is a single line: ``path:line: message (hint)``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike[str] | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        text = f"{where}{self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return " ".join(text.split("\n"))


class FormatError(LutkitError):
    """A LUT or settings file that does not follow its format."""


class ImageError(LutkitError):
    """An image that cannot be read or written."""


class LUTError(LutkitError):
    """An invalid LUT operation (bad size, domain, incompatible LUTs)."""


class ConfigError(LutkitError):
    """A bad option, recipe or configuration value."""


class PhotosError(LutkitError):
    """The training photographs cannot be fetched or do not match their manifest."""


class VAEError(LutkitError):
    """A VAE that cannot be found or loaded."""


class ToolError(LutkitError):
    """An external tool (GIMP, ffmpeg, ImageMagick) failed on a file."""


class LutkitWarning(UserWarning):
    """Something the user should know that does not stop the work: an unfinished run used
    as a model, a dataset split left empty, a LUT clipped to fit a Hald image, a source
    name that shadows a folder. Every warning lutkit gives is one of these; the CLI
    prints each as one ``warning: ...`` line on stderr, and a program can filter or
    catch them with :mod:`warnings` like any other."""
