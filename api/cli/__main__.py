"""``python -m api.cli`` runs the ``servicemap`` command line."""

import sys

from api.cli import main

sys.exit(main())
