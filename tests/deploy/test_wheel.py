"""A normal (non-editable) `pip install` of the wheel ships web/: the installed `media-sync serve`,
run away from the checkout, serves the page and its scripts.

The wheel is built from a copy of the sources (nothing is written into the checkout) and
installed into a fresh venv made without pip; a ``.pth`` line lends it the test venv's
site-packages for the dependencies only (a plain path line: the checkout's editable finder is
not loaded, so `daemon` and `ingress` come from the wheel, which the test checks).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import REPO, free_port

pytestmark = pytest.mark.e2e

SOURCES = ("pyproject.toml", "README.md", "daemon", "ingress", "web")


def run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding only the wheel (dependencies lent by a .pth line)."""
    base = tmp_path_factory.mktemp("wheel")
    src, dist, env = base / "src", base / "dist", base / "v"
    src.mkdir()
    for name in SOURCES:
        origin = REPO / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, src / name)
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, src)
    (wheel,) = dist.glob("media_sync-*.whl")
    run(sys.executable, "-m", "venv", "--without-pip", env)
    python = env / "bin" / "python"
    purelib = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"))
    lent = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(str(purelib).strip()) / "lent-dependencies.pth").write_text("\n".join(lent) + "\n")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", wheel)
    return env


def test_the_wheel_carries_every_file_of_web(venv: Path) -> None:
    installed = venv / "share" / "media-sync" / "web"
    expected = {
        p.relative_to(REPO / "web"): p.read_bytes()
        for p in (REPO / "web").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    found = {p.relative_to(installed): p.read_bytes() for p in installed.rglob("*") if p.is_file()}
    assert sorted(found) == sorted(expected)
    assert found == expected
    assert (installed / "vendor" / "tus-js-client" / "LICENSE").is_file()


def test_the_installed_packages_are_the_wheels(venv: Path, tmp_path: Path) -> None:
    script = "import daemon, ingress; print(daemon.__file__); print(ingress.__file__)"
    for line in run(venv / "bin" / "python", "-c", script, cwd=tmp_path).splitlines():
        assert Path(line).is_relative_to(venv), line


@pytest.fixture
def served(venv: Path, tmp_path: Path) -> Iterator[str]:
    """The wheel's own `media-sync serve`, started outside the checkout."""
    root, state = tmp_path / "projects", tmp_path / "state"
    root.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_SYNC_")}
    env.update(MEDIA_SYNC_PROJECTS_ROOT=str(root), MEDIA_SYNC_STATE_DIR=str(state))
    log = tmp_path / "serve.log"
    serve = ["serve", "--no-watch", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [venv / "bin" / "media-sync", *serve],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail(f"the installed server did not come up:\n{log.read_text()}")
        yield url
    finally:
        process.terminate()
        process.wait(30)


def test_the_installed_server_serves_the_page(served: str) -> None:
    title = re.search(r"<title>[^<]*</title>", (REPO / "web" / "index.html").read_text())
    assert title is not None
    page = httpx.get(f"{served}/", timeout=10)
    assert page.status_code == 200
    assert title.group(0) in page.text
    assert page.content == (REPO / "web" / "index.html").read_bytes()
    script = httpx.get(f"{served}/public/js/main.js", timeout=10)
    assert script.status_code == 200
    assert script.content == (REPO / "web" / "js" / "main.js").read_bytes()
