"""The layers of docs/architecture.md hold on every import, and the check would catch a breach.

The contracts live in pyproject.toml (``[tool.importlinter]``); import-linter reads every import of
the four packages, at module level and inside functions, and follows chains through other modules.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO

PACKAGES = ("synthdiv", "store", "workbench", "screens")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the packages under ``root`` (they shadow any installed copy)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    script = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-c", script, "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_the_tree_keeps_every_layer_contract():
    out = lint_imports(REPO)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Contracts: 4 kept, 0 broken." in out.stdout


def test_a_deliberate_breach_of_each_layer_fails(tmp_path):
    for name in PACKAGES:
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    breaches = {
        "synthdiv/leak.py": "from store import open_store\n",  # the science opens a database
        "store/leak.py": "def f():\n    import torch\n",  # the store loads a model (inside a function)
        "screens/leak.py": "from workbench.config import parse_config\n",  # an arrow up
        "workbench/leak.py": "from synthdiv import text\nfrom screens.plot import text_plot\n",  # wiring draws
    }
    for path, text in breaches.items():
        (tmp_path / path).write_text(text)
    out = lint_imports(tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Contracts: 0 kept, 4 broken." in out.stdout
    for path in breaches:
        assert path.removesuffix(".py").replace("/", ".") in out.stdout


# Lazy imports both ways that are known and left as they are (each inside a function): the real-image
# registry loads its optional dataset sources only when one is named; wordnet maps ImageNet's ids to
# the class set that classes builds from it.
KNOWN_CIRCLES = {"synthdiv.classes <-> synthdiv.wordnet", "synthdiv.real <-> synthdiv.real_hf",
                 "synthdiv.real <-> synthdiv.real_wds"}


def test_the_science_core_has_no_import_circles():
    """No module of synthdiv imports, through any chain, a module that imports it back: loading a
    model no longer bounces generate → mini.bundle → pipelines → prompts → generate (issue 23)."""
    import grimp

    graph = grimp.build_graph("synthdiv")
    circles = set()
    for a in sorted(graph.modules):
        for b in sorted(graph.find_modules_directly_imported_by(a)):
            if b.startswith("synthdiv") and a != b and graph.find_shortest_chain(importer=b, imported=a):
                circles.add(" <-> ".join(sorted((a, b))))
    assert circles == KNOWN_CIRCLES, sorted(circles - KNOWN_CIRCLES)
    for module in ("synthdiv.generate", "synthdiv.sources", "synthdiv.pipelines", "synthdiv.prompts",
                   "synthdiv.mini.bundle", "synthdiv.embed", "synthdiv.devices"):
        assert module in graph.modules


def test_no_function_is_too_tangled_to_read():
    """Cyclomatic complexity (radon) of every function of the three packages of logic is at most
    25: past that a function is split into named steps (issue 23 split parse_config at 45 and
    analyse at 53)."""
    from radon.complexity import cc_visit

    worst = []
    for pkg in ("synthdiv", "store", "workbench"):
        for path in sorted((REPO / pkg).rglob("*.py")):
            for block in cc_visit(path.read_text(encoding="utf-8")):
                if block.complexity > 25:
                    worst.append(f"{path.relative_to(REPO)}:{block.lineno} {block.name} ({block.complexity})")
    assert not worst, worst
