"""zen: consult other AI models from Python, through the zen engine."""

from zen._zen import __version__

__all__ = ["__version__"]
