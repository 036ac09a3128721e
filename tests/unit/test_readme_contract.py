"""The README opens with the two fresh-machine commands, and CI runs exactly those two."""

import os
import re
import subprocess

from tests.helpers import REPO


def bash_blocks():
    return re.findall(r"^```bash\n(.*?)^```", (REPO / "README.md").read_text(), flags=re.S | re.M)


def ci_commands() -> list[str]:
    """The commands ``.ci/run`` runs, as it reports them without running them."""
    out = subprocess.run(["bash", str(REPO / ".ci" / "run")], env={**os.environ, "CI_DRY_RUN": "1"},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_ci_runs_the_readmes_two_commands_as_written():
    run, test = (b.strip() for b in bash_blocks()[:2])
    assert ci_commands() == [run, test]


def test_the_first_installs_and_runs_the_default_experiment_and_the_second_the_tests():
    run, test = (b.strip() for b in bash_blocks()[:2])
    assert run.startswith("python3 -m venv .venv && ") and "pip install . &&" in run
    config = re.search(r"synthdiv run (\S+)$", run).group(1)
    assert (REPO / config).is_file()
    assert test.startswith("python3 -m venv .venv && ") and 'pip install ".[test]"' in test
    assert re.search(r"python -m pytest\b", test)
    assert "torch==" not in (REPO / "pyproject.toml").read_text()


def test_ci_starts_from_a_fresh_environment_and_removes_it():
    script = (REPO / ".ci" / "run").read_text()
    fresh = script.index("rm -rf .venv")
    assert fresh < script.index('bash -euo pipefail -c "$run_cmd"') < script.index('bash -euo pipefail -c "$test_cmd"')
    trap = next(line for line in script.splitlines() if line.startswith("trap "))
    assert "rm -rf .venv" in trap and '"$lanes"' in trap and trap.endswith(" EXIT")  # the lanes' venvs too


def test_ci_runs_the_floors_and_newest_python_lanes_in_fresh_environments():
    script = (REPO / ".ci" / "run").read_text()
    assert "python_of 3.10" in script and "python_of 3.13" in script
    assert "-c ci/floors.txt" in script and '-m pytest -q -m "not slow"' in script
    assert script.index('bash -euo pipefail -c "$test_cmd"') < script.index('wait "${lane_pid[$name]}"')


def test_the_readme_names_the_fast_lane_beside_the_full_command():
    readme = (REPO / "README.md").read_text()
    assert 'python -m pytest -m "not slow"' in readme
