"""``python -m symcalc``: the command line (see ``symcalc.cli``)."""
import sys

from .cli import main

sys.exit(main())
