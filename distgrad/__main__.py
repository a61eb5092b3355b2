"""``python -m distgrad`` is the ``distgrad`` command."""
import sys

from .cli import main

sys.exit(main())
