"""An in-memory DaVinci Resolve scripting object, faithful to the documented return values.

Only the calls the adapter uses exist. Failures answer ``None`` (``LoadProject`` of an unknown
name, ``CreateProject`` of an existing one, ``AddSubFolder`` with an empty name) or ``False``
(``LinkProxyMedia`` of a file that is not there), lists hold
``MediaPoolItem``-like objects, and ``ImportMedia`` imports only files that exist on disk
(``[]`` when none does). ``scriptapp`` is what ``DaVinciResolveScript.scriptapp`` is: called
with ``"Resolve"`` it answers the (process-wide) running Resolve.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

ImportHook = Callable[[list[str]], None]


class MediaPoolItem:
    def __init__(self, path: str):
        self.path = path
        self.name = os.path.basename(path.replace("\\", "/"))
        self.proxy = ""  # the linked proxy's path (Resolve shows it as "Proxy Media Path")
        self.link_calls: list[str] = []  # test record (not Resolve API)

    def GetName(self) -> str:
        return self.name

    def GetClipProperty(self, name: str | None = None) -> Any:
        properties = {
            "File Path": self.path,
            "Clip Name": self.name,
            "Proxy Media Path": self.proxy,
        }
        if name is None:
            return properties
        return properties.get(name, "")

    def LinkProxyMedia(self, proxyMediaFilePath: str) -> bool:
        """Links the proxy; False (nothing linked) when the file is not there."""
        self.link_calls.append(proxyMediaFilePath)
        if not os.path.isfile(proxyMediaFilePath):
            return False
        self.proxy = proxyMediaFilePath
        return True


class Folder:
    def __init__(self, name: str):
        self.name = name
        self.clips: list[MediaPoolItem] = []
        self.subfolders: list[Folder] = []

    def GetName(self) -> str:
        return self.name

    def GetClipList(self) -> list[MediaPoolItem]:
        return list(self.clips)

    def GetSubFolderList(self) -> list[Folder]:
        return list(self.subfolders)


class MediaPool:
    def __init__(self, on_import: ImportHook | None = None) -> None:
        self.on_import = on_import
        self.root = Folder("Master")
        self.current = self.root
        self.import_calls: list[list[str]] = []

    def GetRootFolder(self) -> Folder:
        return self.root

    def GetCurrentFolder(self) -> Folder:
        return self.current

    def AddSubFolder(self, parent: Folder, name: str) -> Folder | None:
        if not isinstance(parent, Folder) or not name:
            return None
        folder = Folder(name)
        parent.subfolders.append(folder)
        return folder

    def SetCurrentFolder(self, folder: Folder) -> bool:
        if not isinstance(folder, Folder):
            return False
        self.current = folder
        return True

    def ImportMedia(self, paths: list[str]) -> list[MediaPoolItem]:
        self.import_calls.append(list(paths))
        if self.on_import is not None:  # test hook (not Resolve API): e.g. a slow import
            self.on_import(list(paths))
        items = [MediaPoolItem(path) for path in paths if os.path.isfile(path)]
        self.current.clips.extend(items)
        return items


class Project:
    def __init__(self, name: str, on_import: ImportHook | None = None):
        self.name = name
        self.media_pool = MediaPool(on_import)

    def GetName(self) -> str:
        return self.name

    def GetMediaPool(self) -> MediaPool:
        return self.media_pool


class ProjectManager:
    def __init__(self, on_import: ImportHook | None = None) -> None:
        self.on_import = on_import
        self.projects: dict[str, Project] = {"Untitled Project": Project("Untitled Project")}
        self.current: Project | None = self.projects["Untitled Project"]
        self.saves = 0

    def GetCurrentProject(self) -> Project | None:
        return self.current

    def LoadProject(self, name: str) -> Project | None:
        project = self.projects.get(name)
        if project is not None:
            self.current = project
        return project

    def CreateProject(self, name: str) -> Project | None:
        if not name or name in self.projects:
            return None
        self.projects[name] = self.current = Project(name, self.on_import)
        return self.current

    def SaveProject(self) -> bool:
        self.saves += 1
        return self.current is not None


class Resolve:
    def __init__(self, on_import: ImportHook | None = None) -> None:
        self.project_manager = ProjectManager(on_import)

    def GetProjectManager(self) -> ProjectManager:
        return self.project_manager

    def bin(self, project: str, name: str) -> Folder | None:
        """Test helper (not Resolve API): a bin of a project, or None."""
        found = self.project_manager.projects.get(project)
        if found is None:
            return None
        return next((f for f in found.media_pool.root.subfolders if f.name == name), None)


RUNNING = Resolve()


def scriptapp(app: str = "Resolve") -> Resolve | None:
    """``DaVinciResolveScript.scriptapp``: the running Resolve of this process."""
    return RUNNING if app == "Resolve" else None


factory = scriptapp


def not_running(app: str = "Resolve") -> None:
    """A scriptapp when Resolve is closed or external scripting is off: always None."""
    return None


SLOW_SECONDS = float(os.environ.get("FAKE_RESOLVE_SLOW_SECONDS", "3"))


def slow_scriptapp(app: str = "Resolve") -> Resolve | None:
    """Resolve taking a while to answer (starting up): holds a claimed job before it starts."""
    time.sleep(SLOW_SECONDS)
    return scriptapp(app)
