"""The ``panel`` commands: accounts, database, rounds and server here; data commands from web/commands/data.py."""

from __future__ import annotations

import click

from web.commands.accounts import users
from web.commands.centers import centers
from web.commands.data import data_commands
from web.commands.database import init_command
from web.commands.matching import commands as matching_commands
from web.commands.ranking import commands as ranking_commands
from web.commands.rounds import rounds
from web.commands.server import serve_command
from web.commands.tokens import commands as token_commands
from web.commands.worker import queues_command, worker_command

COMMANDS: list[click.Command] = [
    init_command, serve_command, users, rounds, centers, *data_commands, *matching_commands, *ranking_commands,
    *token_commands, worker_command, queues_command,
]
"""Every command of the ``panel`` group."""
