"""``python -m rnncast``: the command line (also what ``torchrun -m rnncast`` starts)."""

import sys

from rnncast.cli import main

sys.exit(main())
