"""`python -m llmsh.daemon serve|status|stop`: the same as `llmsh kernel ...`."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
