"""Shell completion for ``synthdiv`` (``synthdiv completion bash|zsh|fish``), generated from the
command line's own parser: every command, every option of each, and the choices of options that
have them; other arguments complete as file names. No extra package is needed.

Install: ``eval "$(synthdiv completion bash)"`` in ``~/.bashrc`` (zsh: the same with ``zsh`` in
``~/.zshrc``; fish: ``synthdiv completion fish > ~/.config/fish/completions/synthdiv.fish``)."""

from __future__ import annotations

import argparse
import shlex

SHELLS = ("bash", "zsh", "fish")


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # noqa: SLF001 - argparse has no public accessor for its subparsers
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> list[tuple[list[str], list[str] | None, str, bool]]:
    """(option strings, choices, help, takes a value) of each option of ``parser``."""
    out = []
    for a in parser._actions:  # noqa: SLF001
        if a.option_strings:
            takes = a.nargs != 0
            out.append((list(a.option_strings), [str(c) for c in a.choices] if a.choices else None,
                        (a.help or "").split(":")[0].split(";")[0][:80], takes))
    return out


def _help_of(parser: argparse.ArgumentParser, name: str) -> str:
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for choice in action._choices_actions:  # noqa: SLF001
                if choice.dest == name:
                    return (choice.help or "")[:80]
    return ""


def bash(parser: argparse.ArgumentParser) -> str:
    commands = _commands(parser)
    cases = []
    for name, sub in commands.items():
        opts = " ".join(o for strings, _, _, _ in _options(sub) for o in strings)
        choices = "".join(f"        {'|'.join(strings)}) COMPREPLY=($(compgen -W {shlex.quote(' '.join(ch))} -- \"$cur\")); return;;\n"
                          for strings, ch, _, _ in _options(sub) if ch)
        cases.append(f"    {name})\n      case \"$prev\" in\n{choices}      esac\n"
                     f"      opts={shlex.quote(opts)};;\n")
    top = " ".join([*commands, *(o for strings, _, _, _ in _options(parser) for o in strings)])
    return f"""# synthdiv completion for bash (and zsh, through bashcompinit): eval "$(synthdiv completion bash)"
_synthdiv() {{
  local cur prev cmd opts i
  cur="${{COMP_WORDS[COMP_CWORD]}}"
  prev="${{COMP_WORDS[COMP_CWORD-1]}}"
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${{COMP_WORDS[i]}}" in -*) ;; *) cmd="${{COMP_WORDS[i]}}"; break;; esac
  done
  if [ -z "$cmd" ]; then
    COMPREPLY=($(compgen -W {shlex.quote(top)} -- "$cur")); return
  fi
  case "$cmd" in
{''.join(cases)}    *) opts="";;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}}
complete -o filenames -F _synthdiv synthdiv
"""


def zsh(parser: argparse.ArgumentParser) -> str:
    return "# synthdiv completion for zsh: eval \"$(synthdiv completion zsh)\"\n" \
           "autoload -U +X bashcompinit && bashcompinit\n" + bash(parser).split("\n", 1)[1]


def fish(parser: argparse.ArgumentParser) -> str:
    lines = ["# synthdiv completion for fish: synthdiv completion fish > ~/.config/fish/completions/synthdiv.fish",
             "complete -c synthdiv -f"]
    commands = _commands(parser)
    for name in commands:
        lines.append(f"complete -c synthdiv -n __fish_use_subcommand -a {name} -d {shlex.quote(_help_of(parser, name))}")
    for strings, _, what, _ in _options(parser):
        lines.append("complete -c synthdiv -n __fish_use_subcommand " + _fish_option(strings) + f" -d {shlex.quote(what)}")
    for name, sub in commands.items():
        for strings, choices, what, takes in _options(sub):
            extra = f" -x -a {shlex.quote(' '.join(choices))}" if choices else (" -r -F" if takes else "")
            lines.append(f"complete -c synthdiv -n '__fish_seen_subcommand_from {name}' {_fish_option(strings)}"
                         f"{extra} -d {shlex.quote(what)}")
        lines.append(f"complete -c synthdiv -n '__fish_seen_subcommand_from {name}' -F")
    return "\n".join(lines) + "\n"


def _fish_option(strings: list[str]) -> str:
    parts = []
    for s in strings:
        parts.append(f"-l {s[2:]}" if s.startswith("--") else f"-s {s[1:]}")
    return " ".join(parts)


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for ``shell`` (one of :data:`SHELLS`)."""
    return {"bash": bash, "zsh": zsh, "fish": fish}[shell](parser)
