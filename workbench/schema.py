"""What is written from the declarations: the key tables of ``docs/config.md`` and the JSON Schema
of an experiment file (``synthdiv schema``, for editors) from the settings
(:mod:`synthdiv.settings`); the tables of ``docs/causes.md`` from the four causes' thresholds
(:mod:`synthdiv.causes`) and the per-class columns (:mod:`synthdiv.columns`).

``python -m workbench.schema --write`` rewrites those tables in place: in docs/config.md each
section's table lies between ``<!-- settings: SECTION -->`` (``top`` for the top level) and
``<!-- /settings -->``; in docs/causes.md between ``<!-- causes: thresholds -->`` (or
``columns``) and ``<!-- /causes -->``. The prose around them is written by hand. ``--check``
exits 1 when a doc is stale.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from synthdiv import causes, columns
from synthdiv.settings import PER_CLASS, SECTIONS, Setting, section_settings, setting

DOC = Path(__file__).resolve().parent.parent / "docs" / "config.md"
CAUSES_DOC = DOC.with_name("causes.md")
TYPE_WORDS = {"string": "string", "int": "int", "number": "number", "bool": "bool", "strings": "list of strings",
              "devices": "string, list or int", "overrides": "table of tables"}
_TABLE = re.compile(r"(<!-- settings: (\w+) -->\n)(.*?)(<!-- /settings -->)", re.S)
_CAUSES = re.compile(r"(<!-- causes: (\w+) -->\n)(.*?)(<!-- /causes -->)", re.S)


def toml_value(value: Any) -> str:
    """A default as it is written in a TOML file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return repr(value)


def _default_cell(s: Setting) -> str:
    if s.required:
        return "*required*"
    return s.shown_default or f"`{toml_value(s.default)}`"


def markdown_table(section: str) -> str:
    """One section's keys as the Markdown table of docs/config.md."""
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for s in section_settings(section):
        doc = s.doc.replace("|", "\\|")
        lines.append(f"| `{s.key}` | {TYPE_WORDS[s.kind]} | {_default_cell(s)} | {doc} |")
    return "\n".join(lines) + "\n"


def config_doc(text: str) -> str:
    """``text`` (docs/config.md) with every settings table written anew from the declarations.
    Every section must have its table in the doc, once."""
    found = [m.group(2) for m in _TABLE.finditer(text)]
    wanted = [s or "top" for s in SECTIONS]
    if sorted(found) != sorted(wanted):
        raise ValueError(f"docs/config.md has settings tables for {found}; it needs one for each of {wanted}")
    return _TABLE.sub(lambda m: m.group(1) + markdown_table("" if m.group(2) == "top" else m.group(2)) + m.group(4),
                      text)


def _property(s: Setting) -> dict[str, Any]:
    """One setting as a JSON Schema property."""
    if s.kind == "devices":
        prop: dict[str, Any] = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}},
                                          {"type": "integer", "minimum": 1}]}
    elif s.kind == "strings":
        prop = {"type": "array", "items": {"type": "string"}}
    elif s.kind == "overrides":
        per_class = {key: {k: v for k, v in _property(setting(*of)).items() if k not in ("default", "description")}
                     for key, of in PER_CLASS.items()}
        prop = {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": False,
                                                           "properties": per_class}}
    else:
        prop = {"type": {"string": "string", "int": "integer", "number": "number", "bool": "boolean"}[s.kind]}
    if s.choices:
        prop["enum"] = list(s.choices)
    if s.low is not None:
        prop["exclusiveMinimum" if s.open_low else "minimum"] = s.low
    if s.high is not None:
        prop["exclusiveMaximum" if s.open_high else "maximum"] = s.high
    if s.multiple_of:
        prop["multipleOf"] = s.multiple_of
    if not s.required:
        prop["default"] = list(s.default) if isinstance(s.default, tuple) else s.default
    prop["description"] = s.doc
    return prop


def _object(section: str) -> dict[str, Any]:
    settings = section_settings(section)
    out: dict[str, Any] = {"type": "object", "additionalProperties": False,
                           "properties": {s.key: _property(s) for s in settings}}
    required = [s.key for s in settings if s.required]
    if required:
        out["required"] = required
    return out


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of an experiment TOML file, for editors (Taplo, Even Better
    TOML, VS Code). It checks types, ranges and choices; what needs the machine (a model folder, a
    device, a class name) is checked by ``synthdiv run`` when it reads the file."""
    top = _object("")
    for section in SECTIONS[1:]:
        top["properties"][section] = {**_object(section), "description": f"The [{section}] section (docs/config.md)."}
    top["properties"]["sweep"] = {
        "type": "object", "description": "One experiment per combination of values: quoted config keys, lists of values"
        " (docs/config.md, [sweep]).", "additionalProperties": {"type": "array", "minItems": 1}}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "synthdiv experiment file",
            "description": "An experiment of synthdiv (docs/config.md).", **top}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def causes_table(which: str) -> str:
    """docs/causes.md's tables: ``thresholds`` (each cause's rule and why) or ``columns`` (every
    column of the four-causes table: what it is and the function that computes it)."""
    if which == "thresholds":
        lines = ["| cause | evidence | named when | why this threshold |", "|---|---|---|---|"]
        lines += [f"| {t.cause} | `{t.evidence}` | {_cell(t.rule)} | {_cell(t.rationale)} |" for t in causes.THRESHOLDS]
        lines.append(f"| concept | `gap_low` | {_cell(causes.CONCEPT_RULE)} | what is left once the other causes are"
                     " ruled out: a gap that adherence and diversity do not explain |")
    elif which == "columns":
        lines = ["| column | cause | what it is | computed by |", "|---|---|---|---|"]
        lines += [f"| `{c.key}` | {c.cause or '—'} | {_cell(c.what)}{' (95 % interval: `_low`, `_high`)' if c.interval else ''}"
                  f"{' (equal n)' if c.equal_n else ''} | {f'`{c.function}`' if c.function else '—'} |"
                  for c in columns.of_table("four_causes")]
    else:
        raise ValueError(f"docs/causes.md has an unknown table {which!r}; the tables are thresholds and columns")
    return "\n".join(lines) + "\n"


def causes_doc(text: str) -> str:
    """``text`` (docs/causes.md) with its tables written anew from the declarations."""
    found = sorted(m.group(2) for m in _CAUSES.finditer(text))
    if found != ["columns", "thresholds"]:
        raise ValueError(f"docs/causes.md has the tables {found}; it needs thresholds and columns, once each")
    return _CAUSES.sub(lambda m: m.group(1) + causes_table(m.group(2)) + m.group(4), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workbench.schema",
                                     description="Write the tables of docs/config.md (from synthdiv.settings) and of"
                                                 " docs/causes.md (from synthdiv.causes and synthdiv.columns).")
    parser.add_argument("--write", action="store_true", help="rewrite the tables in both docs")
    parser.add_argument("--check", action="store_true", help="exit 1 when a doc is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, fill in ((DOC, config_doc), (CAUSES_DOC, causes_doc)):
        text = path.read_text(encoding="utf-8")
        new = fill(text)
        if args.write:
            path.write_text(new, encoding="utf-8")
            print(f"wrote {path}")
        elif new != text:
            stale.append(path.name)
    if stale:
        print(f"{', '.join(stale)} stale: run python -m workbench.schema --write", file=sys.stderr)
        return 1
    if not args.write:
        print("docs/config.md and docs/causes.md are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
