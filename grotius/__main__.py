"""`python -m grotius` runs the CLI (the module grotius.cli must not run as __main__:
area command modules import it)."""

from grotius.cli import main

main()
