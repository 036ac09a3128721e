"""The declared floors are the tested ones: every dependency of pyproject.toml names, as its
lower bound, the version ci/floors.txt pins for .ci/run's floors lane, and nothing more or less."""

import re

from tests.helpers import REPO

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_declared_floor_is_pinned_for_the_floors_lane():
    declared = {}
    for spec in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9][0-9A-Za-z.]*)\s*(;.*)?", spec)
        assert m, f"{spec!r}: every dependency needs a floor (>=) and no other bound"
        declared[canonical(m[1])] = m[2]
    pinned = {}
    for line in (REPO / "ci" / "floors.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pinned[canonical(name)] = version.strip()
    assert pinned == declared
