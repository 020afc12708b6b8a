"""The package version; recorded with every stored result."""

__version__ = "0.7.0"
