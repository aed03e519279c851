import sys

from lmlib.tools.cli import main

sys.exit(main())
