"""The product does not depend on the lab: only the lab itself and the commands that start it import it.

Every jcfix command would otherwise load the lab's server, engine and simulated machine (start-up time, and a
product whose behaviour could quietly depend on test scaffolding). Imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

TOOLKIT = Path(__file__).resolve().parent.parent / "toolkit"
ALLOWED = {TOOLKIT / "cli" / "lab.py", TOOLKIT / "cli" / "demo.py"}


def lab_imports(path: Path, root: Path = TOOLKIT.parent) -> list[str]:
    """``file:line`` (relative to ``root``) of every import of ``toolkit.lab`` or a submodule in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        if any(name == "toolkit.lab" or name.startswith("toolkit.lab.") for name in names):
            found.append(f"{path.relative_to(root).as_posix()}:{node.lineno}")
    return found


def test_nothing_outside_the_lab_imports_the_lab() -> None:
    offenders = [
        hit
        for path in sorted(TOOLKIT.rglob("*.py"))
        if (TOOLKIT / "lab") not in path.parents and path not in ALLOWED
        for hit in lab_imports(path)
    ]
    assert offenders == []


def test_the_check_sees_an_import_of_the_lab(tmp_path: Path) -> None:
    lazy = tmp_path / "lazy.py"
    lazy.write_text("def f():\n    from toolkit.lab.engine import run_script\n", encoding="utf-8")
    bare = tmp_path / "bare.py"
    source = "import toolkit.lab.hostmachine\nfrom toolkit import lab\nimport toolkit.labels\n"
    bare.write_text(source, encoding="utf-8")
    assert lab_imports(lazy, tmp_path) == ["lazy.py:2"]
    assert lab_imports(bare, tmp_path) == ["bare.py:1", "bare.py:2"]
