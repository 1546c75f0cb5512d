"""Finding, loading and calling plugins.

Built-in parts are default plugins; third-party plugins come from the entry-point
group `llmsh` and from files or packages in the plugins directory (and paths listed
in the config file). A plugin that fails to import, or raises while registering, is
named in one warning line and skipped: llmsh always starts. That holds for any
exception, `SystemExit` included (a plugin calling `sys.exit()` must not end every
shell); only `KeyboardInterrupt` goes on, as it is the user's Ctrl-C. `--safe` (or an empty
`LLMSH_LOAD_PLUGINS`) loads no third-party plugin.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from llmsh.errors import described

from . import hookspecs, paths

# Built-in parts, by the hooks each implements: collecting a hook imports only the
# default plugins it needs, so `llmsh -c 'echo hi'` never imports the kernel.
DEFAULT_PLUGINS: dict[str, tuple[str, ...]] = {
    "llmsh.default_plugins.commands": ("register_commands",),
    "llmsh.default_plugins.kinds": ("register_job_kinds",),
    "llmsh.default_plugins.models": ("register_job_kinds",),
    "llmsh.default_plugins.language": ("register_nl_examples",),
}
ENTRY_POINT_GROUP = "llmsh"


@dataclass
class PluginInfo:
    name: str
    source: str  # "built-in", "entry point <dist>", or a file path
    version: str = ""
    registered: dict[str, list[str]] = field(default_factory=dict)
    error: str = ""

    @property
    def builtin(self) -> bool:
        return self.source == "built-in"


class _Manager(pluggy.PluginManager):
    """Accepts plain functions named after a hook, as pytest accepts `pytest_*` names."""

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name in hookspecs.HOOKS and callable(getattr(plugin, name, None)):
            return {}
        return opts


def _recorder(calls: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> Callable[..., None]:
    """A `register` callback that only records what a plugin hands in."""
    return lambda *args, **kwargs: calls.append((args, kwargs))


def third_party_disabled(safe: bool) -> bool:
    return safe or os.environ.get("LLMSH_LOAD_PLUGINS", None) == ""


class Plugins:
    def __init__(
        self,
        safe: bool = False,
        plugins_dir: Path | None = None,
        extra_paths: Iterable[Path] = (),
        warn: Callable[[str], None] | None = None,
        builtins: Mapping[str, tuple[str, ...]] | None = None,
        entry_points: bool = True,
    ) -> None:
        """`builtins`: default plugins and their hooks; `entry_points`: load packages'."""
        self.safe = third_party_disabled(safe)
        self.plugins_dir = plugins_dir if plugins_dir is not None else paths.plugins_dir()
        self.extra_paths = list(extra_paths)
        self.infos: dict[str, PluginInfo] = {}
        self.warnings: list[str] = []
        self._warn = warn
        self._pm = _Manager("llmsh")
        self._pm.add_hookspecs(hookspecs)
        self._builtins = dict(DEFAULT_PLUGINS if builtins is None else builtins)
        self._third_party_loaded = False
        self._entry_points = entry_points
        self.collected: set[tuple[str, str]] = set()  # (hook, which) pairs collected so far
        self.on_third_party: list[Callable[[], None]] = []  # called once they are imported

    def _load_builtins(self, hook: str) -> None:
        for module_name, hooks in list(self._builtins.items()):
            if hook in hooks:
                del self._builtins[module_name]
                self._add(
                    importlib.import_module(module_name), module_name.rsplit(".", 1)[-1], "built-in"
                )

    # -- discovery -------------------------------------------------------------------

    def load_third_party(self) -> None:
        """Load installed and dropped-in plugins once (never in safe mode)."""
        if self._third_party_loaded or self.safe:
            return
        self._third_party_loaded = True
        if self._entry_points:
            self._load_entry_points()
        for path in self._plugin_paths():
            self._load_path(path)
        for listener in self.on_third_party:
            listener()

    def _load_entry_points(self) -> None:
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(ep, "dist", None)
            version = getattr(dist, "version", "") if dist is not None else ""
            source = f"entry point ({dist.name if dist is not None else ep.value})"
            try:
                module = ep.load()
            except KeyboardInterrupt:
                raise  # the user's Ctrl-C, not the plugin's failure
            except BaseException as exc:  # noqa: BLE001 - SystemExit included
                self._failed(ep.name, source, exc)
                continue
            self._add(module, ep.name, source, version)

    def _plugin_paths(self) -> list[Path]:
        found = []
        if self.plugins_dir.is_dir():
            for entry in sorted(self.plugins_dir.iterdir()):
                if entry.name.startswith(("_", ".")):
                    continue
                if entry.suffix == ".py" or (entry / "__init__.py").is_file():
                    found.append(entry)
        return found + [p for p in self.extra_paths if p.exists()]

    def _load_path(self, path: Path) -> None:
        name = path.stem if path.suffix == ".py" else path.name
        file = path if path.suffix == ".py" else path / "__init__.py"
        module_name = f"llmsh_plugin_{name}"
        try:
            spec = importlib.util.spec_from_file_location(
                module_name, file, submodule_search_locations=None if path.suffix else [str(path)]
            )
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {file}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        except KeyboardInterrupt:
            sys.modules.pop(module_name, None)
            raise
        except BaseException as exc:  # noqa: BLE001 - SystemExit included
            sys.modules.pop(module_name, None)
            self._failed(name, str(path), exc)
            return
        self._add(module, name, str(path), str(getattr(module, "__version__", "")))

    def _add(self, module: ModuleType, name: str, source: str, version: str = "") -> None:
        if name in self.infos:
            taken = self.infos[name].source
            self._note(f"plugin {name!r} from {source} skipped: the name is taken by {taken}")
            return
        try:
            self._pm.register(module, name=name)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - e.g. a hook with a wrong signature
            self._failed(name, source, exc)
            return
        self.infos[name] = PluginInfo(name, source, version)

    def _failed(self, name: str, source: str, exc: BaseException) -> None:
        # A broken plugin never takes the place of a loaded one of the same name.
        key = name if name not in self.infos else f"{name} ({source})"
        self.infos[key] = PluginInfo(name, source, error=described(exc))
        self._note(f"plugin {name!r} ({source}) failed to load and was skipped: {described(exc)}")

    def _note(self, message: str) -> None:
        self.warnings.append(message)
        if self._warn is not None:
            self._warn(message)

    # -- calling hooks ---------------------------------------------------------------

    def collect(
        self,
        hook: str,
        register: Callable[..., Any],
        describe: Callable[..., str] = lambda *a, **k: (
            str(getattr(a[0], "name", a[0])) if a else ""
        ),
        which: str = "all",
    ) -> None:
        """Call `hook` on every plugin, built-ins first, each in isolation.

        `which` is "all", "built-in" or "third-party" (plugins load on first need).

        A plugin's registrations are buffered and applied only if its hook returns:
        one that raises halfway leaves nothing behind and is named in a warning.
        """
        self.collected.add((hook, which))
        if which != "third-party":
            self._load_builtins(hook)
        if which != "built-in":
            self.load_third_party()
        for impl in getattr(self._pm.hook, hook).get_hookimpls():
            info = self.infos.get(impl.plugin_name)
            if (
                info is None
                or info.error
                or (which != "all" and info.builtin != (which == "built-in"))
            ):
                continue
            calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []  # buffered registrations
            try:
                impl.function(register=_recorder(calls))
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - SystemExit, GeneratorExit... too
                info.error = described(exc)
                self._note(
                    f"plugin {info.name!r} ({info.source}) failed in {hook} and was "
                    f"skipped: {described(exc)}"
                )
                continue
            names = info.registered.setdefault(hook.removeprefix("register_"), [])
            for args, kwargs in calls:
                try:
                    register(*args, **kwargs)
                    names.append(describe(*args, **kwargs))  # may read the plugin's objects
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:  # noqa: BLE001 - a clash or a bad item
                    self._note(f"plugin {info.name!r}: {described(exc)}")

    def origin(self, hook: str, item: str) -> PluginInfo | None:
        kind = hook.removeprefix("register_")
        for info in self.infos.values():
            if item in info.registered.get(kind, []):
                return info
        return None


# Process-wide on purpose: a plugin is a Python module imported into this interpreter,
# and importing one runs its code; a second manager in the same process would import and
# register the same modules again. `--safe` is a property of the process for the same
# reason (it decides what this interpreter may import). Tests reset it (reset_plugins).
_PLUGINS: Plugins | None = None
_SAFE = False


def set_safe(safe: bool) -> None:
    """`llmsh --safe`: no third-party plugin is imported in this process."""
    global _SAFE
    _SAFE = safe


def get_plugins() -> Plugins:
    """The process's plugins (created on first use, honouring --safe and the config)."""
    global _PLUGINS
    if _PLUGINS is None:
        config = plugin_config()
        extra = [Path(p).expanduser() for p in config.get("paths", [])]
        _PLUGINS = Plugins(
            safe=_SAFE,
            extra_paths=extra,
            warn=lambda message: print(f"llmsh: {message}", file=sys.stderr),
        )
        _PLUGINS.on_third_party.append(_register_their_commands)
    return _PLUGINS


def _register_their_commands() -> None:
    """Third-party plugins were loaded for some hook (the kernel's job kinds, say): add
    their commands to the shell's registry now, so that clashes are always reported."""
    registry = sys.modules.get("llmsh.commands.registry")
    default = getattr(registry, "_DEFAULT", None)
    if default is not None:
        default.names()


def reset_plugins() -> None:
    """Forget the loaded plugins (tests)."""
    global _PLUGINS
    _PLUGINS = None


def plugin_config() -> dict[str, Any]:
    """The `[plugins]` table of the config file: `paths` to load, built-ins to `override`."""
    file = paths.config_file()
    if not file.is_file():
        return {}
    try:
        import tomllib
    except ImportError:  # Python 3.10: the config file needs 3.11's tomllib
        return {}
    try:
        table = tomllib.loads(file.read_text(encoding="utf-8")).get("plugins", {})
    except (OSError, ValueError) as exc:
        print(f"llmsh: ignoring {file}: {described(exc)}", file=sys.stderr)
        return {}
    return table if isinstance(table, dict) else {}
