"""``python -m tnq``: the ``tnq`` command (see :mod:`tnq.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
