"""Domains depend in one direction, and no import hides inside a function to dodge a cycle.

`make lint` and `make test` run the same contracts; this test makes a plain pytest run fail on an
upward import too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from config import BASE_DIR

APP = Path(BASE_DIR) / "app"

#: (module path under app/, function) -> why its import of app code stays inside the function.
FUNCTION_LEVEL_IMPORTS_ALLOWED = {
    ("__init__.py", "create_app"): "the app factory registers the models and extensions",
    ("__init__.py", "_check_settings"): "start-up checks, before any domain is imported",
    ("__init__.py", "_register_hooks"): "each domain fills in the registries beneath it at start-up",
    ("__init__.py", "_register_cli"): "the commands are registered by the app factory",
}


def test_the_import_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def function_level_imports() -> list[tuple[str, str, int, str]]:
    """(module path, function, line, module imported) for every import of app code inside a function
    (the outermost function, for one nested in another)."""
    found: dict[tuple[str, int, str], str] = {}
    for path in sorted(APP.rglob("*.py")):
        relative = path.relative_to(APP).as_posix()
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom):
                    names = [node.module or ""] if node.level == 0 else [f"{'.' * node.level}{node.module or ''}"]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                for name in names:
                    if name == "app" or name.startswith(("app.", ".")):
                        found.setdefault((relative, node.lineno, name), function.name)
    return [(path, function, line, name) for (path, line, name), function in found.items()]


def test_no_function_imports_app_code_unless_it_says_why():
    hidden = [
        f"app/{path}:{line} {function}() imports {name}"
        for path, function, line, name in function_level_imports()
        if (path, function) not in FUNCTION_LEVEL_IMPORTS_ALLOWED
    ]
    assert hidden == [], "import at the top of the module, or add the function to the allow-list with its reason"
