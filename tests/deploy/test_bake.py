"""docker-bake.hcl: the targets exist, build deploy/Dockerfile, and cover linux/amd64 + arm64."""

from __future__ import annotations

import re

import pytest

from tests.deploy.files import DEPLOY, REPO, dockerfile_stages
from tests.deploy.hcl import Body, HclError, Ref, parse

BAKE = DEPLOY / "docker-bake.hcl"


@pytest.fixture(scope="module")
def bake() -> Body:
    return parse(BAKE.read_text())


def resolved(bake: Body, name: str, seen: tuple[str, ...] = ()) -> dict[str, object]:
    """A target's attributes with `inherits` applied (parents first, the target's own last)."""
    assert name not in seen, f"inheritance cycle through {name}"
    targets = bake.find("target")
    assert name in targets, f"target {name!r} is not defined"
    merged: dict[str, object] = {}
    own = targets[name].body.attributes
    for parent in own.get("inherits", []):  # type: ignore[attr-defined]
        merged.update(resolved(bake, parent, (*seen, name)))
    merged.update(own)
    return merged


def buildable_targets(bake: Body) -> list[str]:
    return [name for name in bake.find("target") if not name.startswith("_")]


def test_default_group_builds_both_platforms(bake: Body) -> None:
    groups = bake.find("group")
    assert "default" in groups, (
        "`docker buildx bake -f deploy/docker-bake.hcl` needs a default group"
    )
    names = groups["default"].body.attributes["targets"]
    assert isinstance(names, list) and names
    platforms: set[str] = set()
    for name in names:
        platforms.update(resolved(bake, name)["platforms"])  # type: ignore[arg-type]
    assert {"linux/amd64", "linux/arm64"} <= platforms


def test_single_platform_targets_exist(bake: Body) -> None:
    singles: set[tuple[str, ...]] = {
        tuple(resolved(bake, name)["platforms"])  # type: ignore[arg-type]
        for name in buildable_targets(bake)
    }
    assert ("linux/amd64",) in singles and ("linux/arm64",) in singles


def test_every_target_builds_the_deploy_dockerfile_from_the_repo_root(bake: Body) -> None:
    for name in buildable_targets(bake):
        target = resolved(bake, name)
        context = REPO / str(target["context"])  # bake paths are relative to where it runs
        assert context.resolve() == REPO, f"{name}: context must be the repository root"
        dockerfile = context / str(target["dockerfile"])
        assert dockerfile.resolve() == (DEPLOY / "Dockerfile").resolve(), name
        assert dockerfile.is_file()


def test_build_args_and_interpolations_are_defined(bake: Body) -> None:
    variables = set(bake.find("variable"))
    arg_names = {
        instruction.args.split("=")[0]
        for stage in dockerfile_stages(DEPLOY / "Dockerfile")
        for instruction in stage
        if instruction.keyword == "ARG"
    }
    for name in buildable_targets(bake):
        target = resolved(bake, name)
        args = target.get("args", {})
        assert isinstance(args, dict)
        assert set(args) <= arg_names, f"{name}: args the Dockerfile does not declare"
        for value in args.values():
            if isinstance(value, Ref):
                assert value.name in variables, f"{name}: unknown variable {value.name}"
        for tag in target["tags"]:  # type: ignore[attr-defined]
            assert set(re.findall(r"\$\{(\w+)\}", tag)) <= variables, f"{name}: {tag}"
            assert re.search(r"\$\{TAG\}|:", tag), f"{name}: tag {tag!r} has no version part"


@pytest.mark.parametrize(
    "text",
    ['target "x" {', 'target "x" { platforms = ["a", }', "target = = 1", 'a = "x"\na = "y"'],
)
def test_parser_rejects_what_it_does_not_understand(text: str) -> None:
    with pytest.raises(HclError):
        parse(text)
