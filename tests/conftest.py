"""Shared fixtures: paths to the optional shared data set, skipping cleanly when it is absent;
and the session's check that no test wrote into the source tree (tests/source_tree.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.shared_data import REPO, SHARED_DATA, mini_registry, shared_path
from tests.source_tree import changes, snapshot

__all__ = ["REPO", "SHARED_DATA", "mini_registry", "shared_path"]

_TREE = pytest.StashKey[dict]()


@pytest.fixture
def shared_data() -> Path:
    """The ../shared/data folder, or skip."""
    return shared_path()


def _tree_check(config: pytest.Config) -> bool:
    return os.environ.get("DEEPSCREEN_TREE_CHECK", "1") != "0" and not hasattr(
        config, "workerinput")  # an xdist worker: the controller checks


def pytest_sessionstart(session: pytest.Session) -> None:
    if _tree_check(session.config):
        session.config.stash[_TREE] = snapshot(REPO)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_TREE, None)
    if before is None:
        return
    found = changes(before, snapshot(REPO))
    if not found:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_sep("=", "the source tree changed during the tests", red=True)
        for line in found:
            reporter.write_line(line)
        reporter.write_line("Tests write under tmp_path, never into the checkout. If another "
                            "process made these changes, rerun (or set DEEPSCREEN_TREE_CHECK=0 "
                            "on a tree that others are editing).")
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
