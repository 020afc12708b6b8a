"""Command-line output tests (fixtures come from tests/conftest.py)."""
