"""The engines stay pure: importing them loads no web framework and no database layer."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("package", ["matching", "scoring"])
def test_engine_imports_no_web_or_database(package):
    probe = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    if not info.name.endswith('__main__'):\n"
        "        importlib.import_module(info.name)\n"
        "leaked = sorted(m for m in ('flask', 'sqlalchemy', 'flask_sqlalchemy', 'web') if m in sys.modules)\n"
        "print(','.join(leaked))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"{package} pulled in {result.stdout.strip()}"


def test_ruff_bans_web_imports_in_engines(tmp_path):
    ruff = pytest.importorskip("ruff")
    del ruff
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "TID251", "matching", "scoring"],
        cwd=root, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
