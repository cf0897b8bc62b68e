"""``python -m corpusfit.cli``: the console script without installing it."""

import sys

from corpusfit.cli import main

sys.exit(main())
