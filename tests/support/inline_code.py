"""Find what a strict Content-Security-Policy would refuse in a page: inline script and style."""

from __future__ import annotations

from html.parser import HTMLParser


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _value in attrs}
        if tag == "script" and "src" not in names:
            self.found.append(f"<{tag}> without src")
        if tag == "style":
            self.found.append("<style>")
        for name, value in attrs:
            if name == "style" or name.startswith(("on", "hx-on")):
                self.found.append(f'<{tag} {name}="{(value or "")[:40]}">')
            elif value and value.strip().lower().startswith("javascript:"):
                self.found.append(f'<{tag} {name}="javascript:...">')


def inline_code(html: str) -> list[str]:
    """Every inline script, handler, style element and style attribute in `html`."""
    finder = _InlineFinder()
    finder.feed(html)
    return finder.found
