"""Path mapping: examples for Windows, UNC and POSIX roots, and hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.resolve_agent.pathmap import (
    PathMappingError,
    flavour_of,
    normalise_root,
    parse_map,
    same_path,
    to_local,
    to_relative,
)

NAME_CHARS = st.characters(
    codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters='/\\<>:"|?*'
)
names = st.text(NAME_CHARS, min_size=1, max_size=12).filter(lambda n: n not in (".", ".."))
rel_parts = st.lists(names, min_size=1, max_size=5)
drive_roots = st.builds(
    lambda d, sep, parts: f"{d}:{sep}" + sep.join(parts),
    st.sampled_from("BCdz"),
    st.sampled_from(["\\", "/"]),
    st.lists(names, max_size=3),
)
unc_roots = st.builds(
    lambda parts: "\\\\" + "\\".join(parts), st.lists(names, min_size=2, max_size=4)
)
posix_roots = st.builds(lambda parts: "/" + "/".join(parts), st.lists(names, max_size=4))
roots = st.one_of(drive_roots, unc_roots, posix_roots)


@pytest.mark.parametrize(
    ("spec", "rel", "expected"),
    [
        (
            "primary=B:\\Video\\Projects",
            "P1-Foo/ingest/a.mp4",
            "B:\\Video\\Projects\\P1-Foo\\ingest\\a.mp4",
        ),
        ("primary=B:/Video/Projects/", "P1-Foo/a.mp4", "B:\\Video\\Projects\\P1-Foo\\a.mp4"),
        ("primary=b:\\", "P1/a.mp4", "B:\\P1\\a.mp4"),
        ("archive=\\\\nas\\Video\\Archive\\", "P2/x.mov", "\\\\nas\\Video\\Archive\\P2\\x.mov"),
        ("archive=//nas/Video/Archive", "P2/x.mov", "\\\\nas\\Video\\Archive\\P2\\x.mov"),
        (
            "primary=/Volumes/Video/Projects/",
            "P1-Foo/a b.mp4",
            "/Volumes/Video/Projects/P1-Foo/a b.mp4",
        ),
        ("primary=/mnt//video", "P1//./a.mp4", "/mnt/video/P1/a.mp4"),
    ],
)
def test_examples(spec: str, rel: str, expected: str) -> None:
    assert (
        to_local([parse_map(spec)], "primary" if "primary" in spec else "archive", rel) == expected
    )


@pytest.mark.parametrize(
    "rel",
    [
        "../x",
        "P1/../../x",
        "/etc/passwd",
        "\\\\nas\\x",
        "C:\\x",
        "c:x",
        "P1/a\x00b",
        "P1/a\nb",
        "",
        ".",
        "P1\\..\\..\\x",
    ],
)
def test_escaping_or_bad_paths_are_refused(rel: str) -> None:
    with pytest.raises(PathMappingError):
        to_local([("primary", "/Volumes/Video")], "primary", rel)


def test_windows_refuses_names_it_cannot_open() -> None:
    with pytest.raises(PathMappingError, match="Windows"):
        to_local([("primary", "B:\\Video")], "primary", "P1/clip.mp4:stream")
    assert to_local([("primary", "/Volumes/V")], "primary", "P1/a:b") == "/Volumes/V/P1/a:b"


def test_sources_compare_without_case_and_unknown_names_the_known() -> None:
    mappings = {"Primary": "B:\\Video", "archive": "/Volumes/Archive"}
    assert to_local(mappings, "PRIMARY", "P1/a.mp4") == "B:\\Video\\P1\\a.mp4"
    with pytest.raises(PathMappingError, match=r"'offsite'.*Primary, archive|archive, Primary"):
        to_local(mappings, "offsite", "P1/a.mp4")


@pytest.mark.parametrize(
    "spec", ["primary", "=B:\\x", "primary=", "primary=relative/dir", "p=\\\\nas", "p=/a/../b"]
)
def test_bad_map_specs_are_refused(spec: str) -> None:
    with pytest.raises(PathMappingError):
        parse_map(spec)


def test_windows_relative_is_case_insensitive() -> None:
    mappings = [("primary", "B:\\Video\\Projects")]
    assert to_relative(mappings, "primary", "b:/video/PROJECTS/P1/a.mp4") == "P1/a.mp4"
    assert same_path("B:\\Video\\a.MP4", "b:/video/a.mp4")
    assert not same_path("/Volumes/a.MP4", "/Volumes/a.mp4")
    with pytest.raises(PathMappingError):
        to_relative([("primary", "/Volumes/V")], "primary", "/Volumes/v/P1/a.mp4")


@settings(max_examples=200, deadline=None)
@given(roots, rel_parts, st.sampled_from(["/", "\\", "//"]))
def test_result_starts_with_root_and_round_trips(root: str, parts: list[str], sep: str) -> None:
    mappings = [("primary", root)]
    normal = normalise_root(root)
    local = to_local(mappings, "primary", sep.join(parts))
    assert local.startswith(normal)
    assert flavour_of(local) == flavour_of(root)
    assert to_relative(mappings, "Primary", local) == "/".join(parts)
    other_sep = "/" if flavour_of(root) == "windows" else "\\"
    assert other_sep not in local[len(normal) :]


@settings(max_examples=200, deadline=None)
@given(
    roots,
    st.lists(st.one_of(names, st.just("..")), min_size=1, max_size=5).filter(lambda p: ".." in p),
    st.sampled_from(["/", "\\"]),
)
def test_dot_dot_anywhere_is_refused(root: str, parts: list[str], sep: str) -> None:
    with pytest.raises(PathMappingError):
        to_local([("primary", root)], "primary", sep.join(parts))


@settings(max_examples=150, deadline=None)
@given(roots, rel_parts, st.sampled_from(["/", "\\", "C:", "c:\\", "\\\\"]))
def test_absolute_or_drive_paths_are_refused(root: str, parts: list[str], prefix: str) -> None:
    with pytest.raises(PathMappingError):
        to_local([("primary", root)], "primary", prefix + "/".join(parts))


@settings(max_examples=150, deadline=None)
@given(roots, rel_parts, st.characters(codec="utf-8", categories=["Cc"]))
def test_control_characters_are_refused(root: str, parts: list[str], control: str) -> None:
    parts[-1] = parts[-1] + control
    with pytest.raises(PathMappingError):
        to_local([("primary", root)], "primary", "/".join(parts))
