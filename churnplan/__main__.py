"""`python -m churnplan`: the same CLI as the `churnplan` command."""

from churnplan.cli import app

app(prog_name="churnplan")
