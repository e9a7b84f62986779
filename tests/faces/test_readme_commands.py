"""Every command of the CLI (sub-groups such as `import` included) has a row in README's command table."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from churnplan.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def command_paths(group: object, prefix: str = "") -> list[str]:
    """'init', 'import powercli', ...: every leaf command under `group`, by its words."""
    paths = []
    for name, command in sorted(getattr(group, "commands", {}).items()):
        if command.hidden:
            continue
        path = f"{prefix}{name}"
        paths += command_paths(command, path + " ") if hasattr(command, "commands") else [path]
    return paths


def readme_commands() -> list[str]:
    """The code spans in the first cell of each row of README's command table, without 'churnplan '."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| command | what it does |"):].split("\n\n", 1)[0]
    spans = []
    for row in table.splitlines()[2:]:
        first = row.split("|")[1]
        spans += [re.sub(r"^churnplan\s+", "", s) for s in re.findall(r"`([^`]+)`", first)]
    return spans


def test_every_cli_command_has_a_row_in_the_readme_table() -> None:
    paths = command_paths(typer.main.get_command(app))
    assert {"init", "plan", "import powercli", "import rvtools"} <= set(paths)   # the walk reaches sub-groups
    spans = readme_commands()
    missing = [p for p in paths if not any(s == p or s.startswith(p + " ") for s in spans)]
    assert not missing, f"README.md's command table lacks: {', '.join(missing)}"
