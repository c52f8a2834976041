"""oncall-tui: a terminal dashboard for the on-call engineer."""

__version__ = "0.1.0"
