"""The Resolve adapter against the in-memory fake, finding the scripting module, and reveal."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from daemon.resolve_agent.adapter import (
    NOT_RUNNING,
    ClipResult,
    ResolveAdapter,
    ResolveError,
    ResolveUnavailable,
    load_scriptapp,
    script_locations,
)
from daemon.resolve_agent.reveal import reveal, reveal_command
from tests.resolve_agent.fake_resolve import Resolve


@pytest.fixture
def resolve() -> Resolve:
    return Resolve()


def clips(tmp_path: Path, *names: str) -> list[str]:
    paths = []
    for name in names:
        path = tmp_path / name
        path.write_bytes(name.encode() * 10)
        paths.append(str(path))
    return paths


def adapter_for(resolve: Resolve | None) -> ResolveAdapter:
    return ResolveAdapter(lambda app: resolve if app == "Resolve" else None)


def test_import_creates_project_and_bin_then_skips_what_is_there(
    resolve: Resolve, tmp_path: Path
) -> None:
    a, b = clips(tmp_path, "a.mp4", "b.mov")
    adapter = adapter_for(resolve)
    adapter.connect()
    assert adapter.open_or_create_project("P1-Foo") == "P1-Foo"
    first = adapter.import_media("P1-Foo", [a, b])
    assert [(r.local_path, r.status) for r in first] == [(a, "imported"), (b, "imported")]
    folder = resolve.bin("P1-Foo", "P1-Foo")
    assert folder is not None and [c.path for c in folder.GetClipList()] == [a, b]

    c = clips(tmp_path, "c.jpg")[0]
    again = adapter_for(resolve)
    again.open_or_create_project("P1-Foo")  # loads the existing one
    second = again.import_media("P1-Foo", [a, c, str(tmp_path / "gone.mp4")])
    assert [r.status for r in second] == ["skipped", "imported", "missing"]
    assert len(resolve.project_manager.projects["P1-Foo"].media_pool.root.subfolders) == 1
    assert [c.name for c in folder.GetClipList()] == ["a.mp4", "b.mov", "c.jpg"]
    assert resolve.project_manager.saves == 2


def test_windows_paths_in_the_bin_compare_without_case(resolve: Resolve) -> None:
    adapter = adapter_for(resolve)
    adapter.open_or_create_project("P1")
    pool = resolve.project_manager.projects["P1"].media_pool
    folder = pool.AddSubFolder(pool.GetRootFolder(), "P1")
    assert folder is not None
    from tests.resolve_agent.fake_resolve import MediaPoolItem

    folder.clips.append(MediaPoolItem("B:\\Video\\P1\\A.MP4"))
    results = adapter.import_media("P1", ["b:/video/p1/a.mp4"])
    assert results == [ClipResult("b:/video/p1/a.mp4", "skipped", "already in bin 'P1'")]


def test_a_file_resolve_refuses_is_failed(resolve: Resolve, tmp_path: Path) -> None:
    good = clips(tmp_path, "a.mp4")[0]
    adapter = ResolveAdapter(lambda _app: resolve, exists=lambda _p: True)  # the agent sees it
    adapter.open_or_create_project("P1")
    results = adapter.import_media("P1", [good, str(tmp_path / "vanished.mp4")])
    assert [r.status for r in results] == ["imported", "failed"]


def test_select_uses_the_current_project(resolve: Resolve, tmp_path: Path) -> None:
    adapter = adapter_for(resolve)
    assert adapter.open_or_create_project("__select__") == "Untitled Project"
    assert adapter.open_or_create_project(None) == "Untitled Project"
    assert adapter.import_media("P9", clips(tmp_path, "a.mp4"))[0].status == "imported"
    assert resolve.bin("Untitled Project", "P9") is not None


def test_project_that_can_be_neither_loaded_nor_created(resolve: Resolve) -> None:
    adapter = adapter_for(resolve)
    resolve.project_manager.LoadProject = lambda _n: None  # type: ignore[method-assign,assignment]
    resolve.project_manager.CreateProject = lambda _n: None  # type: ignore[method-assign,assignment]
    with pytest.raises(ResolveError, match="neither load nor create the project 'P1'"):
        adapter.open_or_create_project("P1")


def test_resolve_not_running_says_how_to_fix_it() -> None:
    with pytest.raises(ResolveUnavailable) as caught:
        adapter_for(None).connect()
    assert caught.value.detail == NOT_RUNNING
    for words in ("not running", "External scripting using", "Local", "free edition"):
        assert words in NOT_RUNNING


def test_script_locations_follow_the_documented_order() -> None:
    dirs, lib = script_locations({"RESOLVE_SCRIPT_API": "/x/Scripting"}, "linux")
    assert dirs == [
        "/x/Scripting/Modules",
        "/x/Scripting",
        "/opt/resolve/Developer/Scripting/Modules",
    ]
    assert lib == "/opt/resolve/libs/Fusion/fusionscript.so"
    dirs, lib = script_locations(
        {"PROGRAMDATA": "D:\\PD", "RESOLVE_SCRIPT_LIB": "E:\\f.dll"}, "win32"
    )
    assert dirs == [
        "D:\\PD\\Blackmagic Design\\DaVinci Resolve\\Support\\Developer\\Scripting\\Modules"
    ]
    assert lib == "E:\\f.dll"
    dirs, lib = script_locations({}, "darwin")
    assert dirs[0].startswith("/Library/Application Support/Blackmagic Design/")
    assert lib.endswith("DaVinci Resolve.app/Contents/Libraries/Fusion/fusionscript.so")


def test_load_scriptapp_imports_the_module_from_resolve_script_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    modules = tmp_path / "Scripting" / "Modules"
    modules.mkdir(parents=True)
    (modules / "DaVinciResolveScript.py").write_text(
        "import os\ndef scriptapp(app):\n    return ('fake', app, os.environ['RESOLVE_SCRIPT_LIB'])\n"
    )
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "DaVinciResolveScript", raising=False)
    monkeypatch.setenv("RESOLVE_SCRIPT_LIB", "/x/fusionscript.so")
    env = {"RESOLVE_SCRIPT_API": str(tmp_path / "Scripting")}
    try:
        assert load_scriptapp(env, "linux")("Resolve") == ("fake", "Resolve", "/x/fusionscript.so")
    finally:
        sys.modules.pop("DaVinciResolveScript", None)


def test_missing_module_names_paths_and_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "DaVinciResolveScript", raising=False)
    monkeypatch.setenv("RESOLVE_SCRIPT_LIB", "/nowhere/fusionscript.so")
    with pytest.raises(ResolveUnavailable) as caught:
        load_scriptapp({"RESOLVE_SCRIPT_API": str(tmp_path)}, "linux")
    detail = caught.value.detail
    assert (
        str(tmp_path / "Modules") in detail and "/opt/resolve/Developer/Scripting/Modules" in detail
    )
    assert "RESOLVE_SCRIPT_API" in detail and "RESOLVE_SCRIPT_LIB" in detail


@pytest.mark.parametrize(
    ("platform", "path", "argv"),
    [
        ("win32", "B:\\V\\a b.mp4", ["explorer", "/select,B:\\V\\a b.mp4"]),
        ("darwin", "/Volumes/V/a.mp4", ["open", "-R", "/Volumes/V/a.mp4"]),
        ("linux", "/mnt/v/P1/a.mp4", ["xdg-open", "/mnt/v/P1"]),
    ],
)
def test_reveal_command_per_os(platform: str, path: str, argv: list[str]) -> None:
    assert reveal_command(path, platform) == argv


def test_reveal_runs_once_per_folder_and_reports_missing(tmp_path: Path) -> None:
    a, b = clips(tmp_path, "a.mp4", "b.mp4")
    calls: list[list[str]] = []
    results = reveal([a, b, str(tmp_path / "gone.mp4")], calls.append, "darwin")
    assert calls == [["open", "-R", a]]
    assert [r.status for r in results] == ["skipped", "skipped", "missing"]
    assert "revealed" in results[0].detail


def test_reveal_reports_a_file_manager_that_cannot_start(tmp_path: Path) -> None:
    def broken(argv: list[str]) -> None:
        raise FileNotFoundError(2, "No such file or directory", argv[0])

    results = reveal(clips(tmp_path, "a.mp4"), broken, "linux")
    assert results[0].status == "failed" and "xdg-open" in results[0].detail
