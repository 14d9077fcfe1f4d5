"""`python3 -m orchestration.deploy`: the CDK app (see orchestration.deploy)."""

import sys

from orchestration.deploy import main

sys.exit(main(sys.argv[1:]))
