"""`python -m central365` runs the command line."""

from central365.cli import main

main()
