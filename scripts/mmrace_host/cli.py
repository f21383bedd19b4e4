"""Subcommand registration.

Each cli_* module has register(sub) that adds its parsers with
set_defaults(func=handler); handler(args) -> exit code.  The commands are
thin: the work is in pipeline.py and the stages it calls, and no cli_*
module imports another.
"""

import sys

from . import cli_bench, cli_campaign, cli_exec, cli_kernel, cli_run, cli_test
from .tools import ToolError

MODULES = [cli_run, cli_campaign, cli_test, cli_bench, cli_kernel, cli_exec]


def _guard(func):
    def wrapped(args):
        try:
            return func(args)
        except (ToolError, KeyError, RuntimeError) as e:
            msg = e.args[0] if isinstance(e, KeyError) and e.args else e
            print(f"mmrace: error: {msg}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            return 130
    return wrapped


def register(sub):
    for mod in MODULES:
        for parser in mod.register(sub):
            parser.set_defaults(func=_guard(parser.get_default("func")))
