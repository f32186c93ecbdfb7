"""Services never import Flask: the web kernel, views, forms and CLI commands are the only modules
that do, so the same services serve a page, a CLI command, a worker and (later) an API."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"

#: The web side of the shared kernel: the app factory and what it installs on every request.
WEB_KERNEL = {
    "__init__.py",
    "access.py",
    "boundary.py",
    "errors.py",
    "extensions.py",
    "forms.py",
    "headers.py",
    "routing.py",
    "templating.py",
}
#: Modules that are web- or CLI-side by their name, in any domain.
WEB_SIDE = {"views.py", "cli.py"}
#: Modules outside those that may import one Flask extension, and why.
EXCEPTIONS = {
    # Flask-Login's UserMixin gives the model is_authenticated and get_id; it adds no request access.
    "auth/models.py": {"flask_login"},
}


def flask_imports(path: Path) -> set[str]:
    """The flask and flask_* packages a module imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names if name.split(".")[0] == "flask" or name.startswith("flask_")}
    return found


def allowed(relative: str) -> set[str] | None:
    """The Flask packages a module may import; None: any."""
    name = relative.rsplit("/", 1)[-1]
    if relative in WEB_KERNEL or name in WEB_SIDE or name.endswith("_views.py"):
        return None
    if name == "forms.py":
        return {"flask_wtf"}
    return EXCEPTIONS.get(relative, set())


def test_no_module_but_the_web_kernel_views_forms_and_cli_imports_flask():
    offenders = {}
    for path in sorted(APP.rglob("*.py")):
        relative = path.relative_to(APP).as_posix()
        permitted = allowed(relative)
        if permitted is None:
            continue
        if extra := flask_imports(path) - permitted:
            offenders[relative] = sorted(extra)
    assert offenders == {}, f"Services and other domain modules import Flask: {offenders}"


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "service.py"
    module.write_text("def f():\n    from flask import current_app\n    import flask_login.utils\n")
    assert flask_imports(module) == {"flask", "flask_login"}
    assert allowed("proposals/service.py") == set() and allowed("proposals/forms.py") == {"flask_wtf"}
    assert allowed("workflow/signing_views.py") is None and allowed("auth/models.py") == {"flask_login"}
