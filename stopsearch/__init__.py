"""stopsearch: publish police stop-and-search records as a map-based transparency site."""

__version__ = "0.1.0"
