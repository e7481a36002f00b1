"""``python -m arena``: the ``packetflow-arena`` command line."""

import sys

from arena.ui.cli import main

sys.exit(main())
