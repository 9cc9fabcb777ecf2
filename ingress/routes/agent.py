"""The workstation agent, handed out by the server: `/agent/resolve-agent.pyz` and `/agent`.

`GET /agent/resolve-agent.pyz` is a Python zipapp of `daemon.resolve_agent` (standard library
only, which import-linter holds it to), so a Resolve workstation needs nothing but Python and
this one file: `py resolve-agent.pyz --server http://nas:8787 ...`. The archive holds the
agent's modules, a `daemon/__init__.py` of its own (the server's package is not in it) and a
`__main__.py`; it is built in memory once per process with fixed timestamps, so its bytes and
its ETag stay the same until the agent's code changes. `GET /agent` is the page saying how to
fetch and run it, filled in with this server's URL. Both follow the guard's read-token rules.
"""

from __future__ import annotations

import hashlib
import html
import io
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from litestar import MediaType, Request, Response, get

import daemon.resolve_agent
from daemon import __version__
from ingress.deps import Lib
from ingress.urls import workstation_url

FILENAME = "resolve-agent.pyz"
PACKAGE = "daemon/resolve_agent"
AGENT_DIR = Path(daemon.resolve_agent.__file__).resolve().parent
STAMP = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: no build time in the bytes
SHEBANG = b"#!/usr/bin/env python3\n"
MIN_PYTHON = (3, 10)
MAIN = (  # kept to syntax any Python 3 reads, so an old one says what is wrong
    '"""resolve-agent.pyz: media-sync\'s workstation agent for DaVinci Resolve."""\n\n'
    "import sys\n\n"
    f"if sys.version_info < {MIN_PYTHON}:\n"
    "    sys.exit(\n"
    f'        "resolve-agent.pyz needs Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer, this is "\n'
    '        + sys.version.split()[0] + ": install a newer one from python.org"\n'
    "    )\n\n"
    "from daemon.resolve_agent.cli import main  # noqa: E402\n\n"
    f'sys.exit(main(sys.argv[1:], prog="{FILENAME}"))\n'
)
PACKAGE_INIT = (
    '"""media-sync\'s workstation agent only (resolve-agent.pyz): not the server."""\n\n'
    f'__version__ = "{__version__}"\n'
)
WINDOWS_ROOT = r"B:\Video\Projects"
MAC_ROOT = "/Volumes/Video/Projects"


@dataclass(frozen=True)
class Zipapp:
    """The archive's bytes and their strong ETag."""

    data: bytes
    etag: str


def _entry(archive: zipfile.ZipFile, name: str, text: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=STAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever builds it
    info.external_attr = 0o644 << 16
    archive.writestr(info, text)


def build_zipapp(agent_dir: Path = AGENT_DIR) -> Zipapp:
    """The zipapp of the agent's modules in ``agent_dir``: same code, same bytes."""
    buffer = io.BytesIO()
    buffer.write(SHEBANG)  # `chmod +x` then `./resolve-agent.pyz` works on macOS too
    with zipfile.ZipFile(buffer, "w") as archive:
        _entry(archive, "__main__.py", MAIN.encode())
        _entry(archive, "daemon/__init__.py", PACKAGE_INIT.encode())
        for module in sorted(agent_dir.glob("*.py")):
            _entry(archive, f"{PACKAGE}/{module.name}", module.read_bytes())
    data = buffer.getvalue()
    return Zipapp(data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"')


@cache
def agent_zipapp() -> Zipapp:
    """The archive this process hands out, built on first use."""
    return build_zipapp()


@get(
    f"/agent/{FILENAME}",
    sync_to_thread=False,
    media_type="application/octet-stream",
    summary="The Resolve workstation agent as one Python zipapp",
    description="Run it with Python 3.10 or newer: `py resolve-agent.pyz --server ...` on "
    "Windows, `python3 resolve-agent.pyz --server ...` on macOS. Instructions: GET /agent.",
)
def download(request: Request[Any, Any, Any]) -> Response[bytes]:
    app = agent_zipapp()
    headers = {
        "ETag": app.etag,
        "Cache-Control": "no-cache",
        "Content-Disposition": f'attachment; filename="{FILENAME}"',
    }
    wanted = request.headers.get("if-none-match", "")
    if app.etag in (tag.strip() for tag in wanted.split(",")):
        return Response(b"", status_code=304, headers=headers)
    return Response(app.data, headers=headers, media_type="application/octet-stream")


def _maps(names: list[str], primary_root: str, sep: str) -> str:
    """`--map` options: the primary root's example, a placeholder for each other source."""
    parts = []
    for name in names:
        local = primary_root if name == "primary" else f"<where {name} is mounted>"
        parts.append(f'--map "{name}={local}"' if " " in local else f"--map {name}={local}")
    return f" {sep}\n    ".join(parts)


@dataclass(frozen=True)
class Shell:
    """How one platform's shell sets the token, downloads, runs Python and continues a line."""

    set_token: str
    token: str
    curl: str
    python: str
    continues: str
    root: str


WINDOWS = Shell(
    '$env:MEDIA_SYNC_API_TOKEN = "<the API token>"', "$env:MEDIA_SYNC_API_TOKEN", "curl.exe",
    "py", "`", WINDOWS_ROOT,
)  # fmt: skip
MACOS = Shell(
    'export MEDIA_SYNC_API_TOKEN="<the API token>"', "$MEDIA_SYNC_API_TOKEN", "curl", "python3",
    "\\", MAC_ROOT,
)  # fmt: skip


def _commands(shell: Shell, server: str, sources: list[str], token_needed: bool) -> str:
    download_url = f"{server}/agent/{FILENAME}"
    return (
        (f"{shell.set_token}\n" if token_needed else "")
        + f"{shell.curl} -o {FILENAME}"
        + (f' -H "Authorization: Bearer {shell.token}"' if token_needed else "")
        + f" {download_url}\n"
        + f"{shell.python} {FILENAME} --server {server} {shell.continues}\n    "
        + _maps(sources, shell.root, shell.continues)
    )


def instructions(server: str, sources: list[str], token_needed: bool) -> dict[str, str]:
    """The commands for each platform, with this server's URL and sources filled in."""
    return {
        "windows": _commands(WINDOWS, server, sources, token_needed),
        "macos": _commands(MACOS, server, sources, token_needed),
        "download": f"{server}/agent/{FILENAME}",
    }


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>media-sync: Resolve workstation agent</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:1rem auto;padding:0 1rem}}
pre{{background:#f3f3f3;padding:.75rem;overflow-x:auto}}</style></head>
<body><h1>The Resolve workstation agent</h1>
<p>The agent runs on the editing workstation beside DaVinci Resolve: it takes the "open in
Resolve" jobs from this server and imports the clips into Resolve. It is one file,
<a href="{download}">{filename}</a>, and needs only Python 3.10 or newer (python.org) and
Resolve with Preferences &gt; System &gt; General &gt; External scripting using: Local.</p>
<p><code>--map SOURCE=FOLDER</code> says where this workstation sees each of the server's
sources (the projects folder over SMB); add one per source. <code>--once</code> runs one job
and exits; without it the agent waits for jobs until stopped. {token}</p>
<h2>Windows (PowerShell)</h2>
<pre>{windows}</pre>
<h2>macOS (Terminal)</h2>
<pre>{macos}</pre>
<p>To start it at login, see deploy/README.md ("resolve-agent on the Resolve workstation"):
a Scheduled Task on Windows, a LaunchAgent on macOS; run the .pyz with the same options.
Download it again after upgrading the server.</p>
</body></html>
"""


@get("/agent", sync_to_thread=False, media_type=MediaType.HTML, summary="How to run the agent")
def agent_page(request: Request[Any, Any, Any], lib: Lib) -> Response[str]:
    settings = lib.settings
    sources = [s.name for s in lib.registry().sources if s.enabled and s.refused is None]
    token = bool(settings.api_token)
    lines = instructions(workstation_url(request, settings), sources or ["primary"], token)
    token_text = (
        "This server needs its API token (MEDIA_SYNC_API_TOKEN, not the read-only one): "
        "the agent reads it from the environment variable MEDIA_SYNC_API_TOKEN."
        if token
        else ""
    )
    page = PAGE.format(
        download=html.escape(lines["download"]),
        filename=FILENAME,
        token=html.escape(token_text),
        windows=html.escape(lines["windows"]),
        macos=html.escape(lines["macos"]),
    )
    return Response(page, media_type=MediaType.HTML, headers={"Cache-Control": "no-cache"})


ROUTES = [download, agent_page]
