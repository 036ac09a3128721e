"""Every setting of the experiment file is declared once (synthdiv.settings), and what is written
from the declarations — the validator's rules, docs/config.md's tables, the JSON Schema, the setup
screen's fields, the config dataclasses' defaults — follows them."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import jsonschema
import pytest

from synthdiv.errors import ConfigError
from synthdiv.settings import PER_CLASS, SECTIONS, SETTINGS, default, labelled, section_settings, setting
from tests.helpers import REPO
from workbench import config, schema
from workbench.cli import main

DATACLASSES = {"generation": config.GenerationConfig, "embedding": config.EmbeddingConfig,
               "train": config.TrainConfig, "cluster": config.ClusterConfig}


def test_docs_config_md_is_written_from_the_declarations():
    text = (REPO / "docs" / "config.md").read_text(encoding="utf-8")
    assert schema.config_doc(text) == text, "docs/config.md is stale: run python -m workbench.schema --write"
    for s in SETTINGS:  # every key has its row, in its section's table
        assert f"| `{s.key}` | {schema.TYPE_WORDS[s.kind]} |" in text


def test_a_stale_doc_is_caught(tmp_path, monkeypatch, capsys):
    doc = tmp_path / "config.md"
    doc.write_text((REPO / "docs" / "config.md").read_text(encoding="utf-8").replace(
        "Classifier-free guidance scale", "Guidance"), encoding="utf-8")
    monkeypatch.setattr(schema, "DOC", doc)
    causes_doc = tmp_path / "causes.md"
    causes_doc.write_text((REPO / "docs" / "causes.md").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr(schema, "CAUSES_DOC", causes_doc)
    assert schema.main(["--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert schema.main(["--write"]) == 0 and schema.main(["--check"]) == 0
    assert "Classifier-free guidance scale (0–100)." in doc.read_text(encoding="utf-8")


def test_the_config_dataclasses_have_exactly_the_declared_keys_and_defaults():
    for section, cls in DATACLASSES.items():
        fields = {f.name: f.default for f in dataclasses.fields(cls)}
        declared = {s.key: s.default for s in section_settings(section)}
        assert fields == declared, section
    assert config.ExperimentConfig.__dataclass_fields__["real_test_fraction"].default == default("real", "test_fraction")


def test_each_default_is_written_once():
    """The guidance default (the one the issue found written four times) is in the declarations only."""
    written = [p.relative_to(REPO).as_posix() for pkg in ("synthdiv", "store", "workbench", "screens")
               for p in (REPO / pkg).rglob("*.py") if re.search(r"\b7\.5\b", p.read_text(encoding="utf-8"))]
    assert written == ["synthdiv/settings.py"]
    from synthdiv.generate import GenerationSettings

    assert GenerationSettings().guidance == default("generation", "guidance") == config.GenerationConfig().guidance


def test_every_declaration_is_whole():
    assert len({(s.section, s.key) for s in SETTINGS}) == len(SETTINGS)
    for s in SETTINGS:
        assert s.doc.strip() and s.kind in ("string", "int", "number", "bool", "strings", "devices", "overrides"), s.name
        if s.low is not None and not s.required:
            assert s.problem(s.default) == "", f"{s.name}: its default is out of its own range"
        if s.kind == "strings":
            assert s.example.startswith(s.key + " = ["), s.name
    for key, (section, stands_for) in PER_CLASS.items():  # each per-class key is checked by a declaration
        assert setting(section, stands_for).kind in ("string", "int", "number", "strings"), key


@pytest.mark.parametrize("s", [s for s in SETTINGS if s.low is not None or s.choices], ids=lambda s: s.name)
def test_the_validator_refuses_just_outside_each_declared_range_and_names_the_fix(s, tmp_path):
    data = _base()
    bad = "not-a-choice" if s.choices else (s.low - 1 if not s.open_low else s.low)
    (data if s.section == "" else data.setdefault(s.section, {}))[s.key] = bad
    with pytest.raises(ConfigError) as err:
        config.parse_config(data, "f.toml", REPO / "examples")
    assert f"f.toml: {s.name} is " in err.value.message and s.fix() in err.value.message


def _base() -> dict:
    data = tomllib.loads((REPO / "examples" / "digits.toml").read_text())
    return copy.deepcopy(data)


def test_the_json_schema_takes_every_example_and_refuses_what_the_validator_refuses():
    checker = jsonschema.Draft202012Validator(schema.json_schema())
    checker.check_schema(schema.json_schema())
    for path in sorted((REPO / "examples").glob("*.toml")):
        assert not list(checker.iter_errors(tomllib.loads(path.read_text()))), path.name
    for edit in (lambda d: d["generation"].update(steps=0), lambda d: d["generation"].update(guidance="high"),
                 lambda d: d["generation"].update(width=30), lambda d: d["train"].update(optimizer="adam"),
                 lambda d: d["generation"].update(stpes=4), lambda d: d.pop("name"),
                 lambda d: d["real"].update(test_fraction=1.0)):
        data = _base()
        edit(data)
        assert list(checker.iter_errors(data))
        with pytest.raises(ConfigError):
            config.parse_config(data, "f.toml", REPO / "examples")


def test_synthdiv_schema_writes_the_schema_for_editors(tmp_path, capsys):
    assert main(["schema", "--out", str(tmp_path / "s.json")]) == 0
    written = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    assert written == schema.json_schema()
    gen = written["properties"]["generation"]["properties"]["guidance"]
    assert gen["default"] == 7.5 and gen["minimum"] == 0 and gen["maximum"] == 100
    assert set(written["properties"]) == {s.key for s in section_settings("")} | set(SECTIONS[1:]) | {"sweep"}


def test_the_setup_screen_has_a_field_for_each_labelled_setting():
    from screens.setup import SETTINGS as FIELDS

    assert FIELDS == labelled() and setting("generation", "guidance") in FIELDS
    assert len({s.label for s in FIELDS}) == len(FIELDS)
