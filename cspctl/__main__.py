import sys

from cspctl.cli.main import main

sys.exit(main())
