"""``python -m forcegen`` runs the command line."""

from forcegen.cli import main

main()
