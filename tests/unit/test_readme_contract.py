"""The README opens with the two fresh-machine commands, and CI runs the second one."""

import re
import subprocess

from tests.helpers import REPO


def bash_blocks():
    return re.findall(r"^```bash\n(.*?)^```", (REPO / "README.md").read_text(), flags=re.S | re.M)


def test_readme_opens_with_install_and_run_then_install_and_test():
    run, test = bash_blocks()[:2]
    assert run.count("\n") == 1 and test.count("\n") == 1  # one line each
    assert "python3 -m venv .venv" in run and "pip install ." in run
    config = re.search(r"synthdiv run (\S+)", run).group(1)
    assert (REPO / config).is_file()
    assert 'pip install ".[test]"' in test and "python -m pytest" in test
    assert "torch==" not in (REPO / "pyproject.toml").read_text()


def test_ci_runs_the_readmes_test_command_in_a_fresh_environment():
    script = (REPO / ".ci" / "run").read_text()
    assert "rm -rf .venv" in script
    awk = re.search(r"test_cmd=\$\(awk '(.*?)' README.md\)", script).group(1)
    got = subprocess.run(["awk", awk, "README.md"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    assert got == bash_blocks()[1].strip()
