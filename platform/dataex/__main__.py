"""`python -m dataex` is the `dataex` command."""

from dataex.cli.main import main

main()
