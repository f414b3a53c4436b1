import sys

from escape_lsp.cli import main

sys.exit(main())
