"""`python -m tui [SCENARIO]`."""

import sys

from .launch import main

sys.exit(main())
