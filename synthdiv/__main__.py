"""``python -m synthdiv``: the installed ``synthdiv`` command, for environments where the console
script is not on PATH. It runs the command the distribution declares (its ``console_scripts`` entry
point), as the generated script does: the science package itself knows no front end."""

import sys
from importlib.metadata import entry_points

(command,) = entry_points(group="console_scripts", name="synthdiv")
sys.exit(command.load()())
