"""`python -m nnsim.tui [SCENARIO]` (or `python -m tui` in a checkout)."""

import sys

from .launch import main

sys.exit(main())
