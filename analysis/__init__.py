"""framing-lens: how news outlets frame the same event, measured by voice."""

from analysis.provenance import __version__

__all__ = ["__version__"]
