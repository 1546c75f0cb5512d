"""Plugin discovery and isolation, with throwaway plugins in a temporary directory."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llmsh.plugins import Plugins

GOOD = """
__version__ = "1.2"

def register_commands(register):
    register("hello")
    register("bye")

def register_nl_examples(register):
    register("hello", ["say hello"], {})
"""

MARKED = """
from llmsh.hookspecs import hookimpl

@hookimpl
def register_job_kinds(register):
    register("marked-kind")
"""

SYNTAX_ERROR = "def register_commands(register)\n    pass\n"

RAISES_HALFWAY = """
def register_commands(register):
    register("half")
    raise RuntimeError("database missing")
"""


def write_plugins(root: Path, **files: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / f"{name}.py").write_text(textwrap.dedent(text))
    return root


def collected(plugins: Plugins, hook: str) -> list[str]:
    out: list[str] = []
    plugins.collect(hook, lambda *a, **k: out.append(a[0]))
    return out


def test_file_plugins_register_through_hooks_with_and_without_markers(tmp_path: Path) -> None:
    plugins = Plugins(
        plugins_dir=write_plugins(tmp_path, good=GOOD, marked=MARKED),
        builtins={},
        entry_points=False,
    )
    plugins.load_third_party()
    assert collected(plugins, "register_commands") == ["hello", "bye"]
    assert collected(plugins, "register_job_kinds") == ["marked-kind"]
    info = plugins.infos["good"]
    assert info.version == "1.2" and info.source.endswith("good.py") and not info.builtin
    assert info.registered == {"commands": ["hello", "bye"]}
    assert plugins.origin("register_commands", "bye") is info
    assert plugins.warnings == []


def test_broken_plugins_are_named_and_skipped(tmp_path: Path) -> None:
    warnings: list[str] = []
    root = write_plugins(tmp_path, good=GOOD, broken=SYNTAX_ERROR, halfway=RAISES_HALFWAY)
    plugins = Plugins(plugins_dir=root, builtins={}, entry_points=False, warn=warnings.append)
    plugins.load_third_party()
    # The good plugin still works; the half-registered command is rolled back.
    assert collected(plugins, "register_commands") == ["hello", "bye"]
    assert any("'broken'" in w and "SyntaxError" in w for w in warnings)
    assert any("'halfway'" in w and "database missing" in w for w in warnings)
    assert all("\n" not in w for w in warnings)
    assert plugins.infos["broken"].error.startswith("SyntaxError")


def test_a_clash_reported_by_the_consumer_is_a_warning(tmp_path: Path) -> None:
    plugins = Plugins(
        plugins_dir=write_plugins(tmp_path, good=GOOD), builtins={}, entry_points=False
    )
    plugins.load_third_party()
    taken = {"hello"}

    def register(name: str) -> None:
        if name in taken:
            raise ValueError(f"command {name!r} is already registered")
        taken.add(name)

    plugins.collect("register_commands", register)
    assert taken == {"hello", "bye"}
    assert plugins.infos["good"].registered["commands"] == ["bye"]
    assert plugins.warnings == ["plugin 'good': ValueError: command 'hello' is already registered"]


@pytest.mark.parametrize("how", ["safe", "env"])
def test_safe_mode_imports_no_third_party_plugin(tmp_path: Path, how: str) -> None:
    root = write_plugins(tmp_path / "plugins", spy=GOOD)
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from llmsh.plugins import Plugins
        p = Plugins(safe={how == "safe"}, plugins_dir=Path({str(root)!r}), builtins=dict())
        p.load_third_party()
        print(sorted(m for m in sys.modules if "spy" in m), sorted(p.infos))
    """)
    env = {"LLMSH_LOAD_PLUGINS": ""} if how == "env" else {}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**_base_env(), **env},
        check=True,
    ).stdout
    assert out.strip() == "[] []"


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "LLMSH_LOAD_PLUGINS"}
