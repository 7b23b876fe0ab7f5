"""Layout facts any reader can check: module sizes, imports that run one way, the plan at the
bottom of the house (no torch, no forecasting code) and a forecast path without training code."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "rnncast"
LONGEST = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (SRC / relative).with_suffix(".py").is_file() or (SRC / relative / "__init__.py").is_file()


def imports() -> dict[str, tuple[set[str], set[str]]]:
    """Each rnncast module: the rnncast modules it imports (anywhere in its code, a function's
    body included) and the other packages it imports when it is loaded (at its top level)."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        ours, theirs = set(), set()
        tree = ast.parse(path.read_text())
        loaded = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # `from rnncast import plots` imports the module plots, not the package's API
                subs = [f"{node.module}.{a.name}" for a in node.names]
                names = [s for s in subs if is_module(s)] or [node.module]
            else:
                continue
            for name in names:
                if name.split(".")[0] == "rnncast":
                    ours.add(name)
                elif id(node) in loaded:
                    theirs.add(name.split(".")[0])
        graph[module_name(path)] = (ours - {"rnncast"}, theirs)
    return graph


def reach(graph, start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()][0]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_module_is_over_400_lines():
    long = {module_name(p): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > LONGEST}
    assert not long


def test_imports_run_one_way():
    graph = imports()
    loops = sorted(m for m in graph if m in reach(graph, m))
    assert not loops


def test_the_plan_imports_neither_torch_nor_the_code_it_configures():
    graph = imports()
    below = reach(graph, "rnncast.plan") | {"rnncast.plan"}
    assert not {"rnncast.forecasting", "rnncast.forecaster", "rnncast.training",
                "rnncast.sampling", "rnncast.networks"} & below
    assert not any("torch" in graph[m][1] for m in below)


def test_the_forecast_path_imports_no_training_code():
    below = reach(imports(), "rnncast.forecasting")
    assert not {"rnncast.training", "rnncast.ensemble", "rnncast.checkpoints"} & below


@pytest.mark.slow
def test_at_run_time_too():
    code = ("import sys, rnncast.plan; assert 'torch' not in sys.modules, 'torch'; "
            "import rnncast.forecasting; assert 'rnncast.training' not in sys.modules, 'training'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_scripts_beside_the_package_import_only_what_it_has():
    """benchmarks/tune_airpassengers.py imported `truncate` from rnncast.evaluation for sessions
    after it had moved: nothing ran it, nothing said so."""
    import importlib

    missing = []
    for folder in ("benchmarks", "examples", "scripts"):
        for path in sorted((SRC.parent / folder).glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rnncast"):
                    module = importlib.import_module(node.module)
                    missing += [f"{path.name}: {node.module}.{alias.name}" for alias in node.names
                                if not hasattr(module, alias.name)
                                and not is_module(f"{node.module}.{alias.name}")]
    assert not missing
