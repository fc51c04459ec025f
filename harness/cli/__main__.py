"""`python -m harness.cli`: the `ormbench` command."""

from harness.cli import main

main()
