"""The external tools lutkit runs, one module each: ``gimp`` (GIMP 2.10 headless and
Script-Fu strings), ``ffmpeg`` and ``imagemagick``; ``process`` holds the one way to run
a tool (an argument list, never a shell; a timeout; failures as
:class:`lutkit.errors.ToolError`). Each module finds its tool on PATH and never
guesses; nothing here imports more than the standard library.
"""
