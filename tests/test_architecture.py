"""The shape of the package: no import cycles, and every lazy import says why (issue 16).

The import graph is read with ``ast`` from the source of ``envdoctor/`` (nothing is
imported): one edge per ``import envdoctor.x`` / ``from envdoctor.x import y`` /
relative import, at module level **and** inside functions (a function-level import closes
a cycle as surely as a top-level one; it only hides it), leaving out ``if TYPE_CHECKING:``
blocks (never run).  ``from envdoctor.x import y`` is an edge to ``envdoctor.x.y`` when
``y`` is a submodule, else to ``envdoctor.x``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.9/3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "envdoctor"

# Edges that close an import cycle still open; empty: rlang's cycles are gone (its
# discovery state lives in the leaf rlang/_resolver.py, uv's cache places in
# rlang/uv_cache.py).  An entry added here must close a real cycle (the test below fails on
# a stale one), so the list can only shrink again.
ALLOWED_CYCLE_EDGES: set[tuple[str, str]] = set()


def _modules() -> dict[str, tuple[Path, bool]]:
    """``{dotted name: (path, is a package __init__)}`` for every module of envdoctor."""
    out: dict[str, tuple[Path, bool]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_pkg)
    return out


MODULES = _modules()


def _is_type_checking(test: ast.expr) -> bool:
    return "TYPE_CHECKING" in ast.unparse(test)


def _imports(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Yield ``(import node, inside a function)``, skipping ``if TYPE_CHECKING:`` bodies."""

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom,
                                                               bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child, in_function
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    yield from walk(ast.Module(body=[other], type_ignores=[]), in_function)
            else:
                yield from walk(child, in_function or isinstance(
                    child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    yield from walk(tree, False)


def _targets(module: str, is_pkg: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The envdoctor modules one import statement loads (edges), as dotted names."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names if a.name.split(".")[0] == "envdoctor"]
    else:
        if node.level:
            base = module.split(".") if is_pkg else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            origin = ".".join([*base, *([node.module] if node.module else [])])
        else:
            origin = node.module or ""
        if origin.split(".")[0] != "envdoctor":
            return []
        for alias in node.names:
            sub = f"{origin}.{alias.name}"
            names.append(sub if sub in MODULES else origin)
    out = []
    for name in names:
        while name not in MODULES and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in MODULES and name != module:
            out.append(name)
    return out


def import_graph() -> dict[str, set[str]]:
    """``{module: modules it imports}`` for every envdoctor module (see the module docstring)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, (path, is_pkg) in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node, _ in _imports(tree):
            graph[module].update(_targets(module, is_pkg, node))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    item = stack.pop()
                    on_stack.discard(item)
                    component.append(item)
                    if item == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_graph_reader_sees_function_level_imports_and_skips_type_checking() -> None:
    graph = import_graph()
    # function level: the pipeline's door to the checks (app.check_pair imports them lazily)
    assert "envdoctor.checks" in graph["envdoctor.app"]
    # relative and submodule imports resolve: the package __init__ imports its readers
    assert "envdoctor.modelfiles.detect" in graph["envdoctor.modelfiles"]
    # TYPE_CHECKING only: render/console.py names HarnessRun for its annotations
    assert "envdoctor.verify" not in graph["envdoctor.render.console"]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_outside_the_allow_list() -> None:
    graph = import_graph()
    for source, target in ALLOWED_CYCLE_EDGES:
        graph[source].discard(target)
    assert cycles(graph) == [], "import cycle(s); break them with a leaf module"


def test_every_allowed_cycle_edge_still_exists_and_still_closes_a_cycle() -> None:
    graph = import_graph()
    full = cycles(graph)
    in_cycle = {m for component in full for m in component}
    for source, target in sorted(ALLOWED_CYCLE_EDGES):
        assert target in graph[source], f"stale allow-list entry {source} -> {target}"
        assert source in in_cycle and target in in_cycle, f"{source} -> {target} closes no cycle"


def _lazy_exempt_patterns() -> list[str]:
    """The modules ruff's per-file-ignores exempt from PLC0415, as in pyproject.toml."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    lint = config["tool"]["ruff"]["lint"]
    assert "PLC0415" not in lint.get("ignore", []), "PLC0415 must not be ignored globally"
    return [pattern for pattern, codes in lint["per-file-ignores"].items()
            if "PLC0415" in codes and pattern.startswith("envdoctor/")]


def _exempt(rel: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if pattern.endswith("/**") and rel.startswith(pattern[:-2]):
            return True
        if rel == pattern:
            return True
    return False


def _lazy_sites(path: Path) -> Iterator[tuple[int, str, bool]]:
    """``(line number, source line, imports an envdoctor module)`` per function-level import."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    module = next(m for m, (p, _) in MODULES.items() if p == path)
    is_pkg = MODULES[module][1]
    for node, in_function in _imports(ast.parse(text, str(path))):
        if in_function:
            ours = bool(_targets(module, is_pkg, node)) or (
                isinstance(node, ast.ImportFrom) and node.level > 0)
            yield node.lineno, lines[node.lineno - 1], ours


def _reason(line: str) -> str:
    """The text after ``# noqa: PLC0415`` (and any other codes) on a line, or ""."""
    marker = "# noqa: PLC0415"
    if marker not in line:
        return ""
    rest = line.split(marker, 1)[1]
    rest = rest.lstrip(", ")
    while rest[:1].isupper() and rest.split(" ", 1)[0].rstrip(",")[1:].isdigit():
        rest = rest.split(" ", 1)[1] if " " in rest else ""
        rest = rest.lstrip(", ")
    return rest.strip().strip("()").strip()


def test_function_level_imports_of_our_modules_carry_a_reason() -> None:
    patterns = _lazy_exempt_patterns()
    missing = []
    for module, (path, _) in sorted(MODULES.items()):
        rel = path.relative_to(REPO).as_posix()
        if _exempt(rel, patterns) or rel == "envdoctor/probe/_script.py":
            continue
        for lineno, line, ours in _lazy_sites(path):
            reason = _reason(line)
            if (ours or "# noqa: PLC0415" in line) and len(reason) < 4:
                missing.append(f"{rel}:{lineno}: {line.strip()}")
    assert missing == [], "function-level import without `# noqa: PLC0415  (reason)`"


def test_every_module_exempt_from_plc0415_still_has_a_lazy_import() -> None:
    patterns = _lazy_exempt_patterns()
    stale = []
    for pattern in patterns:
        paths = [p for _, (p, _) in MODULES.items()
                 if _exempt(p.relative_to(REPO).as_posix(), [pattern])]
        assert paths, f"per-file-ignores names no module: {pattern}"
        if not any(next(_lazy_sites(p), None) for p in paths):
            stale.append(pattern)
    assert stale == [], "no lazy import left: take these off PLC0415's per-file-ignores"


def test_reason_reader() -> None:
    assert _reason("    import h5py  # noqa: PLC0415  (startup: only for HDF5)") == (
        "startup: only for HDF5")
    assert _reason("    import h5py  # noqa: PLC0415, F401  (imported once here)") == (
        "imported once here")
    assert _reason("    import h5py  # noqa: PLC0415") == ""
    assert _reason("    import h5py") == ""


# What each package may import (its __init__ docstring says the same; docs/DESIGN.md draws
# it).  Areas are the first name under envdoctor/ ("checks", "verify_results"...; "" is
# envdoctor/__init__).  Only the packages whose rules are settled are listed; the others
# (rlang/, the top-level feature modules) are being reshaped.  commands/ has its own test
# below (it may import anything but the CLI).
ALLOWED_AREAS = {
    "jsonable": set(),
    "fsread": set(),
    "probe": {"errors"},
    "modelfiles": {"errors", "types"},
    "inventory": {"errors", "fsread", "types", "probe"},
    "discovery": {"errors", "fsread", "types", "inventory"},
    "verify_results": {"jsonable", "types"},
    "checks": {"errors", "types", "knowledge", "fixes", "inventory", "modelfiles", "rlang",
               "explain", "verify_results"},
    # renderers: the results and their display helpers; never app/api/config, the planner
    # (fix), commands or the CLI
    "render": {"", "types", "jsonable", "fixes", "checks", "verify", "verify_results", "rlang",
               "merge", "installer", "snapshot", "envcreate"},
    "repair": {"app", "checks", "discovery", "errors", "fixes", "inventory", "knowledge",
               "probe", "types", "verify"},
}
OBSERVED_ONLY = {"explain", "verify_results"}
"""Areas that in checks/ only ``checks/observed.py`` (findings from real runs) may import."""


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_packages_import_only_what_their_docstring_allows() -> None:
    graph = import_graph()
    wrong = []
    for module, targets in sorted(graph.items()):
        area = _area(module)
        if area not in ALLOWED_AREAS:
            continue
        for target in sorted(targets):
            other = _area(target)
            if other == area:
                continue
            if other not in ALLOWED_AREAS[area] or (
                area == "checks" and other in OBSERVED_ONLY
                and module != "envdoctor.checks.observed"):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_only_the_cli_imports_commands_and_commands_never_import_the_cli() -> None:
    graph = import_graph()
    into = sorted(m for m, targets in graph.items() if _area(m) != "commands"
                  and any(_area(t) == "commands" for t in targets))
    assert into == ["envdoctor.cli"]
    out = sorted(m for m, targets in graph.items() if _area(m) == "commands"
                 and "envdoctor.cli" in targets)
    assert out == []
    # one module per subcommand, each registered by the CLI's loop
    from envdoctor.commands import MODULES

    assert {m.rsplit(".", 1)[1] for m in graph if m.startswith("envdoctor.commands.")
            and not m.rsplit(".", 1)[1].startswith("_")} == set(MODULES)


# Reports that are not check reports (no verdict from the checks): explain's own envelope,
# r explain's findings, inspect's model.  Every other Report is built by the pipeline.
NON_CHECK_REPORTS = {
    "envdoctor.commands.explain": 2,
    "envdoctor.commands.inspect": 1,
    "envdoctor.commands.r": 1,
}


def _calls(tree: ast.AST, name: str) -> int:
    return sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == name)
            or (isinstance(node.func, ast.Attribute) and node.func.attr == name)
        )
    )


def test_one_pipeline_calls_the_checks_and_builds_check_reports() -> None:
    """envdoctor.app is the only caller of run_checks/verdict and builder of a Report."""
    callers: dict[str, list[str]] = {"run_checks": [], "verdict": [], "Report": []}
    for module, (path, _) in sorted(MODULES.items()):
        if module == "envdoctor.checks":
            continue  # where run_checks and verdict are defined
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name in callers:
            count = _calls(tree, name)
            if name == "Report":
                count -= NON_CHECK_REPORTS.get(module, 0)
            if count > 0:
                callers[name].append(module)
    assert callers == {
        "run_checks": ["envdoctor.app"],
        "verdict": ["envdoctor.app"],
        "Report": ["envdoctor.app"],
    }
    assert _calls(ast.parse((PACKAGE / "app.py").read_text(encoding="utf-8")), "Report") == 1


def test_one_status_order() -> None:
    """One rank table: types.STATUS_ORDER; Severity.rank and every status follow it."""
    from envdoctor.types import STATUS_ORDER, Severity, severity_status, worst_status

    assert STATUS_ORDER == ("ok", "warning", "error", "broken")
    assert [s.rank for s in (Severity.INFO, Severity.WARNING, Severity.ERROR)] == [0, 1, 2]
    assert severity_status([Severity.INFO, Severity.WARNING]) == "warning"
    assert severity_status([]) == "ok"
    assert worst_status(["ok", "broken", "error"]) == "broken"
    copies = []
    for module, (path, _) in sorted(MODULES.items()):
        text = path.read_text(encoding="utf-8")
        if '"warning": 1' in text or '"error": 2' in text or "2: \"error\"" in text:
            copies.append(module)
    assert copies == []
