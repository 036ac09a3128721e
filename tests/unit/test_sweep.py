"""Sweeps in the experiment file (issue 12, deliverable 1): one experiment per combination,
named after its values, paired seeds, resumable, bad keys named."""

from __future__ import annotations

import pytest

from store import experiments, jobs, open_store
from synthdiv.errors import SynthdivError
from tests.helpers import TINY, run_cli, write_config
from workbench.config import load_configs
from workbench.control import prepare
from workbench.plan import expand

SWEEP = TINY.read_text() + '''
[sweep]
"generation.guidance" = [1, 3]
"templates.custom" = [["a photo of a {}."], ["a sketch of a {}.", "a painting of a {}."]]
'''


def test_a_2_by_2_sweep_is_4_paired_experiments_and_running_it_again_adds_nothing(tmp_path):
    cfgs = load_configs(write_config(tmp_path, SWEEP))
    assert [c.name for c in cfgs] == ["tiny/guidance=1,templates=1", "tiny/guidance=1,templates=2",
                                      "tiny/guidance=3,templates=1", "tiny/guidance=3,templates=2"]
    assert [c.generation.guidance for c in cfgs] == [1.0, 1.0, 3.0, 3.0]
    assert cfgs[1].templates == ("a sketch of a {}.", "a painting of a {}.")
    assert len({c.store for c in cfgs}) == 1 and cfgs[0].store.endswith("runs/tiny")
    # paired: the same class, template and seed in every experiment that has the template
    assert set(expand(cfgs[0]).jobs) == set(expand(cfgs[2]).jobs)
    assert set(expand(cfgs[1]).jobs) == set(expand(cfgs[3]).jobs)
    assert all(c.classes == cfgs[0].classes for c in cfgs)
    with open_store(tmp_path / "S", create=True) as st:
        added = [prepare(st, c).added for c in cfgs]
        again = [prepare(st, c).added for c in cfgs]
        assert added == [12, 24, 12, 24] and again == [0, 0, 0, 0]
        assert len(experiments.names_of(st)) == 4
        assert sum(jobs.counts(st, experiments.get(st, c.name)["id"])["pending"] for c in cfgs) == 72


@pytest.mark.parametrize("sweep, needle", [
    ('"generation.guidence" = [1, 2]', "sweep key 'generation.guidence' cannot be swept"),
    ('"name" = ["a", "b"]', "sweep key 'name' cannot be swept"),
    ('"generation.guidance" = 3', "sweep.generation.guidance must be a list of values"),
    ('"generation.guidance" = [1, 1]', "lists a value twice"),
    ('"generation.guidance" = [1, 500]', "generation.guidance is 500.0"),
    ('"templates.custom" = ["a {}"]', "must be a list of template lists"),
])
def test_bad_sweep_keys_and_values_are_refused_naming_the_key(tmp_path, sweep, needle):
    with pytest.raises(SynthdivError) as err:
        load_configs(write_config(tmp_path, TINY.read_text() + "\n[sweep]\n" + sweep + "\n"))
    assert needle in err.value.message, err.value.message


def test_a_bad_sweep_key_exits_2_naming_it_and_writes_nothing(tmp_path):
    config = write_config(tmp_path, TINY.read_text() + '\n[sweep]\n"generation.stepz" = [1, 2]\n')
    out = run_cli("run", str(config), "--store", str(tmp_path / "D"))
    assert out.returncode == 2 and "sweep key 'generation.stepz'" in out.stderr, out.stderr
    assert not (tmp_path / "D").exists()


@pytest.mark.slow
def test_synthdiv_run_runs_every_experiment_of_a_sweep_and_resumes(tmp_path):
    config = write_config(tmp_path, TINY.read_text() + '\n[sweep]\n"generation.guidance" = [1, 3]\n')
    out = run_cli("run", str(config), "--store", str(tmp_path / "D"))
    text = " ".join(out.stdout.split())
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Sweep: 2 experiments, 48 images in all" in text
    assert "1/2 tiny/guidance=1" in text and "2/2 tiny/guidance=3" in text
    with open_store(tmp_path / "D") as st:
        rows = st.conn.execute("select e.name, count(*), min(i.guidance) from images i"
                               " join experiments e on e.id = i.experiment_id group by e.name order by e.name").fetchall()
        assert [tuple(r) for r in rows] == [("tiny/guidance=1", 24, 1.0), ("tiny/guidance=3", 24, 3.0)]
        seeds = [set(r[0] for r in st.conn.execute(
            "select i.seed from images i join experiments e on e.id = i.experiment_id where e.name = ?", [n]))
            for n in ("tiny/guidance=1", "tiny/guidance=3")]
        assert seeds[0] == seeds[1]  # paired
    again = run_cli("run", str(config), "--store", str(tmp_path / "D"))
    assert again.returncode == 0 and again.stdout.count("Nothing to do") == 2
