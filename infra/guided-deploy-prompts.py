"""What `sam deploy --guided` would stop to ask about this template, answered offline with SAM CLI's own
code: an endpoint without authentication is asked about with "[y/N]", and the default answer (Enter)
aborts the deployment. Exits non-zero when such a prompt would appear.

    target/sam-venv/bin/python infra/guided-deploy-prompts.py [TEMPLATE]
"""

import sys

from samcli.commands.deploy.auth_utils import auth_per_resource
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

template = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
stacks, _ = SamLocalStackProvider.get_stacks(template)
unauthenticated = [resource for resource, authenticated in auth_per_resource(stacks) if not authenticated]
if unauthenticated:
    print(f"sam deploy --guided would ask whether these may have no authentication (Enter aborts): {unauthenticated}")
    sys.exit(1)
print("sam deploy --guided: no prompt that Enter would answer by aborting")
