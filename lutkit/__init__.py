"""lutkit: remove coloured lighting and film colour damage from photographs."""

__version__ = "0.1.0"
