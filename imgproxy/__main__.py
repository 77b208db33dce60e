"""`python -m imgproxy` runs the command line."""

import sys

from imgproxy.cli import main

sys.exit(main())
