"""The one module that talks to DaVinci Resolve's scripting API (``DaVinciResolveScript``).

Only a handful of documented calls are used: ``scriptapp("Resolve")``, ``GetProjectManager``,
``GetCurrentProject`` / ``LoadProject`` / ``CreateProject`` / ``SaveProject``, ``GetMediaPool``,
``GetRootFolder``, ``GetSubFolderList``, ``AddSubFolder``, ``SetCurrentFolder``, ``GetClipList``,
``GetClipProperty("File Path")``, ``ImportMedia`` and ``LinkProxyMedia``. Resolve answers failure with ``None`` (or an
empty list), never with an exception, so every answer is checked.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from daemon.resolve_agent.errors import AgentError
from daemon.resolve_agent.pathmap import same_path

ScriptApp = Callable[[str], Any]
SELECT = "__select__"
MODULE = "DaVinciResolveScript"
ENV_API = "RESOLVE_SCRIPT_API"
ENV_LIB = "RESOLVE_SCRIPT_LIB"

NOT_RUNNING = (
    "DaVinci Resolve is not running or external scripting is disabled. To fix it: start "
    "Resolve on this workstation; in Resolve open Preferences > System > General and set "
    '"External scripting using" to "Local"; then open the job again. The free edition of '
    "Resolve allows external scripting only in recent versions (use Resolve Studio or update)."
)

_DEFAULTS: dict[str, tuple[str, str]] = {
    "win32": (
        r"%PROGRAMDATA%\Blackmagic Design\DaVinci Resolve\Support\Developer\Scripting\Modules",
        r"C:\Program Files\Blackmagic Design\DaVinci Resolve\fusionscript.dll",
    ),
    "darwin": (
        "/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting/Modules",
        "/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Libraries/Fusion/fusionscript.so",
    ),
    "linux": (
        "/opt/resolve/Developer/Scripting/Modules",
        "/opt/resolve/libs/Fusion/fusionscript.so",
    ),
}


class ResolveUnavailable(AgentError):
    """Resolve or its scripting module cannot be reached; the message says how to fix it."""


class ResolveError(AgentError):
    """Resolve answered, but refused what we asked (a project it cannot load or create...)."""


@dataclass(frozen=True)
class ClipResult:
    """What happened to one local file: imported, skipped, missing or failed."""

    local_path: str
    status: str
    detail: str = ""
    proxy: str = ""  # "linked", "missing" or "failed" when the job named a proxy, else ""


def _platform_key(platform: str) -> str:
    return platform if platform in ("win32", "darwin") else "linux"


def script_locations(env: Mapping[str, str], platform: str) -> tuple[list[str], str]:
    """(module directories to try, in order; the fusionscript library to use), as documented."""
    default_modules, default_lib = _DEFAULTS[_platform_key(platform)]
    if platform == "win32":
        program_data = env.get("PROGRAMDATA", r"C:\ProgramData")
        default_modules = default_modules.replace("%PROGRAMDATA%", program_data)
    dirs: list[str] = []
    api = env.get(ENV_API)
    if api:
        dirs += [os.path.join(api, "Modules"), api]
    dirs.append(default_modules)
    return dirs, env.get(ENV_LIB) or default_lib


def load_scriptapp(env: Mapping[str, str] | None = None, platform: str | None = None) -> ScriptApp:
    """``DaVinciResolveScript.scriptapp``, found via RESOLVE_SCRIPT_API / _LIB or the defaults."""
    environ = os.environ if env is None else env
    dirs, lib = script_locations(environ, platform or sys.platform)
    os.environ.setdefault(ENV_LIB, lib)  # the module reads it to find fusionscript
    for directory in dirs:
        if os.path.isdir(directory) and directory not in sys.path:
            sys.path.append(directory)
    try:
        module = importlib.import_module(MODULE)
    except (ImportError, SystemExit) as exc:  # the module sys.exit()s when fusionscript fails
        tried = "; ".join(dirs)
        raise ResolveUnavailable(
            f"cannot load Resolve's scripting module {MODULE} ({exc or 'it exited'}). Tried "
            f"{tried} with fusionscript at {os.environ.get(ENV_LIB, lib)}. Install DaVinci "
            f"Resolve, or set {ENV_API} to its Developer/Scripting folder (the one holding "
            f"Modules/) and {ENV_LIB} to its fusionscript library."
        ) from exc
    scriptapp: ScriptApp = module.scriptapp
    return scriptapp


def _file_path(item: Any) -> str:
    value = item.GetClipProperty("File Path")
    if isinstance(value, dict):  # some versions answer a {name: value} dict
        value = value.get("File Path")
    return value if isinstance(value, str) else ""


def _index_of(path: str, paths: Sequence[str]) -> int | None:
    for index, candidate in enumerate(paths):
        if same_path(path, candidate):
            return index
    return None


class ResolveAdapter:
    """Resolve through its scripting object: connect, open a project, import into a bin."""

    def __init__(self, scriptapp: ScriptApp, exists: Callable[[str], bool] = os.path.exists):
        self._scriptapp = scriptapp
        self._exists = exists
        self._resolve: Any = None
        self._project: Any = None

    def connect(self) -> None:
        """Reach the running Resolve; ``ResolveUnavailable`` with the fix when it is not there."""
        try:
            resolve = self._scriptapp("Resolve")
        except Exception as exc:  # the fusionscript bridge raises anything when Resolve is gone
            raise ResolveUnavailable(f"{NOT_RUNNING} ({exc})") from exc
        if resolve is None or resolve.GetProjectManager() is None:
            raise ResolveUnavailable(NOT_RUNNING)
        self._resolve = resolve

    def _manager(self) -> Any:
        if self._resolve is None:
            self.connect()
        return self._resolve.GetProjectManager()

    def open_or_create_project(self, name: str | None) -> str:
        """Load ``name`` (creating it if missing) or, for None/``__select__``, the current one."""
        manager = self._manager()
        current = manager.GetCurrentProject()
        if not name or name == SELECT:
            if current is None:
                raise ResolveError("no project is open in Resolve; open one and try again")
            self._project = current
            return str(current.GetName())
        if current is not None and current.GetName() == name:
            self._project = current
            return name
        project = manager.LoadProject(name) or manager.CreateProject(name)
        if project is None:
            raise ResolveError(
                f"Resolve could neither load nor create the project {name!r}; close any "
                "dialog open in Resolve and check the project library, then try again"
            )
        self._project = project
        return name

    def _bin(self, media_pool: Any, bin_name: str) -> Any:
        root = media_pool.GetRootFolder()
        if root is None:
            raise ResolveError("Resolve returned no media pool root folder")
        for folder in root.GetSubFolderList() or []:
            if folder.GetName() == bin_name:
                return folder
        folder = media_pool.AddSubFolder(root, bin_name)
        if folder is None:
            raise ResolveError(f"Resolve could not create the bin {bin_name!r}")
        return folder

    def import_media(
        self,
        bin_name: str,
        local_paths: Sequence[str],
        proxies: Sequence[str | None] = (),
    ) -> list[ClipResult]:
        """Import into the bin ``bin_name`` what is not there yet, and link each clip in the bin
        to its proxy (``proxies[i]``, a local path, when there is one); one result per path."""
        if self._project is None:
            raise ResolveError("no Resolve project is open (call open_or_create_project first)")
        media_pool = self._project.GetMediaPool()
        if media_pool is None:
            raise ResolveError("Resolve returned no media pool for the project")
        folder = self._bin(media_pool, bin_name)
        if not media_pool.SetCurrentFolder(folder):
            raise ResolveError(f"Resolve could not select the bin {bin_name!r}")
        clips = list(folder.GetClipList() or [])
        present = [_file_path(item) for item in clips]
        decided: dict[int, ClipResult] = {}
        wanted: list[str] = []
        for index, path in enumerate(local_paths):
            if _index_of(path, present) is not None:
                decided[index] = ClipResult(path, "skipped", f"already in bin {bin_name!r}")
            elif not self._exists(path):
                decided[index] = ClipResult(path, "missing", "no such file on this workstation")
            elif _index_of(path, wanted) is None:
                wanted.append(path)
        new_items = self._import(media_pool, wanted)
        imported = [_file_path(item) for item in new_items]
        results = []
        for index, path in enumerate(local_paths):
            if index in decided:
                results.append(decided[index])
            elif _index_of(path, imported) is not None:
                results.append(ClipResult(path, "imported", f"imported into bin {bin_name!r}"))
            else:
                results.append(
                    ClipResult(
                        path, "failed", "Resolve did not import it (unsupported or unreadable)"
                    )
                )
        results = self._link_proxies(results, [*clips, *new_items], proxies)
        self._save()
        return results

    def _import(self, media_pool: Any, paths: list[str]) -> list[Any]:
        if not paths:
            return []
        return list(media_pool.ImportMedia(paths) or [])

    def _link_proxies(
        self, results: list[ClipResult], items: list[Any], proxies: Sequence[str | None]
    ) -> list[ClipResult]:
        """``LinkProxyMedia`` for every clip in the bin that has a proxy; says how it went."""
        paths = [_file_path(item) for item in items]
        linked = []
        for index, result in enumerate(results):
            proxy = proxies[index] if index < len(proxies) else None
            found = _index_of(result.local_path, paths)
            if not proxy or found is None or result.status not in ("imported", "skipped"):
                linked.append(result)
            elif not self._exists(proxy):
                linked.append(replace(result, proxy="missing"))
            else:
                done = bool(items[found].LinkProxyMedia(proxy))
                linked.append(replace(result, proxy="linked" if done else "failed"))
        return linked

    def _save(self) -> None:
        manager = self._manager()
        save = getattr(manager, "SaveProject", None)
        if save is not None:
            save()
