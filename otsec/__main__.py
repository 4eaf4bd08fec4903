"""``python -m otsec`` runs the command line."""

import sys

from otsec.cli import main

sys.exit(main())
