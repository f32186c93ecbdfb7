"""Rules of the code's shape that a review would otherwise have to remember (read with `ast`)."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"

#: The one module that ends a unit of work (app/transaction.py): everyone else goes through it.
UNIT_OF_WORK = APP / "transaction.py"


def modules() -> list[Path]:
    return sorted(APP.rglob("*.py"))


def calls(path: Path) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(path.read_text(), str(path))) if isinstance(node, ast.Call)]


def called_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def where(path: Path, call: ast.Call) -> str:
    return f"{path.relative_to(APP.parent)}:{call.lineno}"


def test_only_the_unit_of_work_commits_or_rolls_back_a_session():
    found = [
        where(path, call)
        for path in modules()
        if path != UNIT_OF_WORK
        for call in calls(path)
        if isinstance(call.func, ast.Attribute) and call.func.attr in ("commit", "rollback")
    ]
    assert found == [], "commit or roll back through app/transaction.py (transaction, abandon, in_transaction)"


def test_no_view_or_command_checks_csrf_by_hand():
    # CSRFProtect checks every POST; the buyer's signing page, exempted, checks its FlaskForm.
    views_and_commands = [p for p in modules() if p.name in ("views.py", "signing_views.py", "cli.py")]
    found = [
        where(path, call) for path in views_and_commands for call in calls(path) if called_name(call) == "require_csrf"
    ]
    assert found == []
    assert "def require_csrf" not in (APP / "forms.py").read_text()


def test_the_rule_finds_a_commit_where_there_is_one(tmp_path):
    sample = tmp_path / "views.py"
    sample.write_text("def save():\n    db.session.commit()\n    require_csrf()\n")
    assert [called_name(c) for c in calls(sample)] == ["commit", "require_csrf"]
