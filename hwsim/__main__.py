"""``python -m hwsim …``: the same command line as ``hwsim …``."""

import sys

from hwsim.cli import main

sys.exit(main())
