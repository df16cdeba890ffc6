"""The project's own promises: dependencies in step, lint clean, no machine paths."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

PROJECT = Path(__file__).resolve().parent.parent


def _names(requirements):
    return {re.split(r"[<>=!~\[ ]", r, maxsplit=1)[0].lower(): r.replace(" ", "") for r in requirements}


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    wanted = _names(project["dependencies"] + project["optional-dependencies"]["dev"])
    env = yaml.safe_load((PROJECT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = _names([p for p in pip_section if not p.startswith("-e")])
    assert listed == wanted
    assert "python=3.11" in env["dependencies"]


def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    result = subprocess.run([ruff, "check", "."], cwd=PROJECT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_machine_path_is_written_into_the_project():
    tracked = subprocess.run(["git", "ls-files"], cwd=PROJECT, capture_output=True, text=True, check=False).stdout.split()
    pattern = re.compile(r"/(?:tmp|work|root|home)/\w")
    offenders = [name for name in tracked
                 if (PROJECT / name).is_file() and (PROJECT / name).suffix in {".py", ".md", ".csv", ".yml", ".toml"}
                 and pattern.search((PROJECT / name).read_text(encoding="utf-8", errors="replace"))]
    assert not offenders
