"""`python -m shared` runs the `lakehouse` command line."""

import sys

from shared.cli import main

sys.exit(main())
