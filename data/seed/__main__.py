"""`python -m data.seed`: build the demo database (see data/seed/__init__.py)."""

import sys

from data.seed.database import main

sys.exit(main())
