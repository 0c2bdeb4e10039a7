"""``python -m trialdata``: the command line."""

from trialdata.cli import main

main()
