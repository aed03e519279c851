"""lmlib's layers: the library never imports its tools, experiments or grader, and has no cycles.

Every import is read from the source (also those inside functions), so a lazy import cannot hide a
cycle or a dependency on a command.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lmlib"
LIBRARY = ("runtime", "models", "data", "training", "analysis", "rewards")
ON_TOP = ("tools", "experiments", "grading")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The lmlib modules `name` imports, anywhere in its source, resolved to module names."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[name].read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{name}: relative import; lmlib uses absolute imports"
            base = node.module or ""
            for alias in node.names:  # `from lmlib.rewards import qa` imports lmlib.rewards.qa
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
    return {m for m in found if m in MODULES and m != name and m not in ancestors}


GRAPH = {name: imports_of(name) for name in MODULES}


def test_every_module_is_in_a_layer():
    top_level = [n for n in MODULES if n.count(".") == 1 and not MODULES[n].name == "__init__.py"]
    assert sorted(top_level) == ["lmlib.__main__"], "put new modules in a layer package"
    layers = {n.split(".")[1] for n in MODULES if n.count(".") >= 1}
    assert layers - {"__main__"} == set(LIBRARY + ON_TOP)


@pytest.mark.parametrize("layer", LIBRARY)
def test_library_never_imports_tools_experiments_or_grading(layer):
    bad = {
        (name, dep)
        for name, deps in GRAPH.items()
        if name.startswith(f"lmlib.{layer}")
        for dep in deps
        if dep.split(".")[1:2] and dep.split(".")[1] in ON_TOP
    }
    assert not bad, f"library modules importing a command, an experiment or the grader: {bad}"


def test_package_root_imports_only_the_library():
    assert {d.split(".")[1] for d in GRAPH["lmlib"]} <= set(LIBRARY)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of module names, or None. Depth-first, three colours."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                return path[path.index(dep) :] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle():
    assert find_cycle(GRAPH) is None, " -> ".join(find_cycle(GRAPH))


def test_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_docstring_maps_every_module():
    doc = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text()))
    listed = {
        line.split()[0] for line in doc.splitlines() if line.startswith("  ") and line.strip()
    }
    for layer in LIBRARY + ON_TOP:
        modules = {p.stem for p in (PACKAGE / layer).glob("*.py")} - {"__init__"}
        assert modules <= listed, f"lmlib/__init__.py does not map {sorted(modules - listed)}"


def test_default_output_paths_follow_the_working_directory_not_the_package():
    import argparse

    from lmlib.experiments import runner
    from lmlib.tools import budget

    for module in (runner, budget):
        parser = argparse.ArgumentParser()
        module.configure(parser)
        defaults = vars(parser.parse_args(["scaling"] if module is runner else []))
        paths = [v for v in defaults.values() if isinstance(v, Path)]
        assert paths and all(not p.is_absolute() for p in paths), defaults
    assert not runner.results_path("x", "ci", 0).is_absolute()
