"""`orch init DIR`: a new project that uses orchestration (pure: writes files, imports no AWS SDK).

The files are the `template/` folder of this package: `NAME.tmpl` becomes `NAME` (`gitignore.tmpl`
becomes `.gitignore`), with `{{stack_name}}` and `{{package_name}}` filled in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from orchestration.errors import OrchestrationError

TEMPLATE = files("orchestration.scaffold") / "template"
SUFFIX = ".tmpl"
DOTFILES = {"gitignore": ".gitignore"}
STACK_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,29}$")


class ScaffoldError(OrchestrationError):
    """The project cannot be created where asked."""


@dataclass
class Scaffolded:
    root: Path
    written: list[str] = field(default_factory=list)  # paths relative to root
    kept: list[str] = field(default_factory=list)  # existing files left untouched (--force)


def stack_name_for(folder: Path) -> str:
    """A CloudFormation stack name from a folder name: letters, digits and '-', starting with a letter."""
    name = re.sub(r"[^A-Za-z0-9-]+", "-", folder.resolve().name).strip("-")
    name = name if name[:1].isalpha() else f"orch-{name}".rstrip("-")
    return name[:30].rstrip("-") or "orch"


def _templates(node: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    out: list[tuple[str, Traversable]] = []
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.is_dir():
            if child.name != "__pycache__":
                out += _templates(child, f"{prefix}{child.name}/")
        elif child.name.endswith(SUFFIX):
            name = child.name[: -len(SUFFIX)]
            out.append((prefix + DOTFILES.get(name, name), child))
    return out


def scaffold(target: Path, *, stack_name: str | None = None, force: bool = False) -> Scaffolded:
    """Create the project in `target`. A non-empty folder is refused unless `force`; even then an
    existing file is never overwritten: it is kept and listed in `kept`."""
    if target.exists() and not target.is_dir():
        raise ScaffoldError(f"{str(target)!r} is a file: pass a new or empty folder for the project")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise ScaffoldError(
            f"{str(target)!r} is not empty: pass an empty folder, or --force to add the missing files "
            "(existing files are kept, never overwritten)"
        )
    name = stack_name or stack_name_for(target)
    if not STACK_NAME_RE.match(name):
        raise ScaffoldError(
            f"stack name {name!r}: use 1-30 letters, digits or '-', starting with a letter (--name NAME)"
        )
    values = {"{{stack_name}}": name, "{{package_name}}": name.lower()}
    result = Scaffolded(target)
    for relative, template in _templates(TEMPLATE):
        dest = target / relative
        if dest.exists():
            result.kept.append(relative)
            continue
        text = template.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace(key, value)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with dest.open("x", encoding="utf-8") as out:  # "x": never replaces a file created meanwhile
            out.write(text)
        result.written.append(relative)
    return result
