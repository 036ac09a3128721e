"""Careless and hostile experiment files are refused before anything is written, naming the bad
input (issue 11, hardening): odd characters, huge texts, devices that do not exist, a BOM,
wrongly typed names."""

from __future__ import annotations

import pytest

from synthdiv.errors import SynthdivError
from tests.helpers import TINY, tiny_text, write_config
from workbench.config import load_config


@pytest.mark.parametrize("char, named", [
    ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("\x00", "U+0000"),
    ("\u2028", "U+2028 LINE SEPARATOR"),
    ("\u2029", "U+2029 PARAGRAPH SEPARATOR"),
    ("\x1b", "U+001B"),
    ("\u200b", "U+200B ZERO WIDTH SPACE"),
])
def test_a_class_file_with_control_bidi_or_separator_characters_is_refused_naming_the_character(tmp_path, char, named):
    (tmp_path / "classes.txt").write_text(f"goldfish\ntab{char}by cat\n", encoding="utf-8")
    text = tiny_text().replace('set = "imagenet"', 'set = "classes.txt"').replace(
        'names = ["goldfish", "tabby cat", "golden retriever"]', "")
    with pytest.raises(SynthdivError) as err:
        load_config(write_config(tmp_path, text))
    assert named in err.value.message and "line 2" in err.value.message, err.value.message


def test_a_line_separator_no_longer_splits_a_class_name_in_two(tmp_path):
    (tmp_path / "classes.txt").write_text("sea\u2028lion\n", encoding="utf-8")
    text = tiny_text().replace('set = "imagenet"', 'set = "classes.txt"').replace(
        'names = ["goldfish", "tabby cat", "golden retriever"]', "")
    with pytest.raises(SynthdivError, match="LINE SEPARATOR"):
        load_config(write_config(tmp_path, text))


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace('"a photo of a {}."', '"a photo of a {}.' + "x" * 100_000 + '"'),
     "characters long"),
    (lambda t: t.replace('"a photo of a {}."', '"a photo\\u202e of a {}."'), "U+202E"),
    (lambda t: t.replace('name = "tiny"', 'name = "' + "n" * 300 + '"'), "name is 300 characters long"),
    (lambda t: t.replace('name = "tiny"', 'name = "ti\\u0000ny"'), "name holds U+0000"),
    (lambda t: t.replace('name = "tiny"', "name = 5"), "name must be a string, not 5"),
    (lambda t: t.replace('batch_size = 4', 'batch_size = 4\ndevice = "tpu"'), "generation.device is 'tpu'"),
    (lambda t: t.replace('batch_size = 4', 'batch_size = 4\ndevice = "cuda:99"'), "generation.device is 'cuda:99'"),
    (lambda t: t.replace('batch_size = 64', 'batch_size = 64\ndevice = "gpu"'), "embedding.device is 'gpu'"),
    (lambda t: t.replace('batch_size = 4', 'batch_size = 4\nnegative_prompt = "' + "b" * 2000 + '"'),
     "negative_prompt is 2,000 characters long"),
])
def test_bad_values_are_refused_with_the_key_named(tmp_path, edit, message):
    with pytest.raises(SynthdivError) as err:
        load_config(write_config(tmp_path, edit(TINY.read_text())))
    assert message in err.value.message, err.value.message


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + TINY.read_bytes())
    assert load_config(path).name == "tiny"


def test_auto_and_cpu_devices_pass(tmp_path):
    cfg = load_config(write_config(tmp_path, tiny_text(device="CPU")))
    assert cfg.generation.device == "cpu"


def test_prompts_longer_than_the_text_encoder_reads_are_warned_about_with_their_token_count(tmp_path):
    from workbench.plan import long_prompt_notes

    long = "a photo of a {} " + "in a very detailed and elaborate setting " * 12
    cfg = load_config(write_config(tmp_path, TINY.read_text().replace('"a photo of a {}."', f'"{long}"')))
    notes = long_prompt_notes(cfg)
    assert len(notes) == 1 and "3 prompts are longer than the text encoder of tiny-random reads (77 tokens)" in notes[0]
    assert "tokens" in notes[0] and "Shorten the templates" in notes[0]
    assert long_prompt_notes(load_config(TINY)) == []


def test_a_huge_plan_is_refused_without_yes_before_anything_is_written(tmp_path):
    from tests.helpers import run_cli

    text = ('name = "everything"\n[classes]\nset = "imagenet"\n[templates]\nbuiltin = true\n'
            '[generation]\nmodel = "tiny-random"\nimages_per_prompt = 100000\n[embedding]\nmodel = "tiny-random"\n')
    config = write_config(tmp_path, text)
    out = run_cli("run", str(config), "--store", str(tmp_path / "D"), timeout=120)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "has 8,000,000,000 images (1,000 classes × 80 templates × 100,000 per prompt)" in out.stderr
    assert "--yes" in out.stderr
    assert not (tmp_path / "D").exists()


def test_plans_are_registered_in_bounded_batches_with_progress(tmp_path):
    from store import experiments, jobs, open_store

    consumed, seen_at_progress = [0], []

    def many():
        for seed in range(25_000):
            consumed[0] += 1
            yield ("a", "t {}", seed)

    with open_store(tmp_path, create=True) as st:
        e = experiments.ensure(st, "big", {}, {})
        added = experiments.register_plan(st, e, [("a", "a")], ["t {}"], [("a", "t {}", "t a")], many(),
                                          batch=10_000, progress=lambda n: seen_at_progress.append((n, consumed[0])))
        assert added == 25_000 and jobs.counts(st, e)["pending"] == 25_000
        # never more than one batch read ahead of what was written
        assert seen_at_progress == [(10_000, 10_000), (20_000, 20_000), (25_000, 25_000)]
        again = experiments.register_plan(st, e, [("a", "a")], ["t {}"], [("a", "t {}", "t a")], many())
        assert again == 0
