"""``python -m crnn_plugin.train CONFIG``: see :mod:`crnn_plugin.training.train`."""

from __future__ import annotations

import sys

from .training.train import main

if __name__ == "__main__":
    sys.exit(main())
