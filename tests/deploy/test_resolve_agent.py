"""The resolve-agent recipes: the launchd plist and the Scheduled Task run `media-sync resolve-agent`."""

from __future__ import annotations

import plistlib
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

from tests.deploy.files import DEPLOY, REPO, windows_argv

PLIST = DEPLOY / "resolve-agent" / "com.media-sync.resolve-agent.plist"
TASK = DEPLOY / "resolve-agent" / "media-sync-resolve-agent.task.xml"
TASK_NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


def options(argv: list[str]) -> dict[str, str]:
    """`--flag value` pairs of an agent command line (after `resolve-agent`)."""
    assert argv[0] == "resolve-agent", argv
    pairs = argv[1:]
    assert len(pairs) % 2 == 0 and all(flag.startswith("--") for flag in pairs[::2]), argv
    return dict(zip(pairs[::2], pairs[1::2], strict=True))


def check_agent_options(found: dict[str, str], local_root: str) -> None:
    assert set(found) == {"--server", "--name", "--map"}
    assert re.fullmatch(r"http://[\w.-]+:8787", found["--server"]), found["--server"]
    assert found["--name"]
    source, _, root = found["--map"].partition("=")
    assert source == "primary" and root == local_root


def test_launchd_plist_runs_the_agent_at_login() -> None:
    with PLIST.open("rb") as handle:
        plist = plistlib.load(handle)
    assert plist["Label"] == PLIST.stem
    program, *argv = plist["ProgramArguments"]
    assert program.startswith("/") and program.endswith("/bin/media-sync")
    check_agent_options(options(argv), "/Volumes/Video/Projects")
    assert plist["RunAtLoad"] is True and plist["KeepAlive"] is True
    assert plist["LimitLoadToSessionType"] == "Aqua", "Resolve runs in the GUI session"
    assert all(isinstance(v, str) for v in plist["EnvironmentVariables"].values())


def test_scheduled_task_runs_the_agent_at_logon() -> None:
    task = ET.parse(TASK).getroot()
    assert task.tag == f"{{{TASK_NS['t']}}}Task"
    command = task.findtext("t:Actions/t:Exec/t:Command", namespaces=TASK_NS) or ""
    assert command.endswith("\\Scripts\\media-sync.exe")
    arguments = task.findtext("t:Actions/t:Exec/t:Arguments", namespaces=TASK_NS) or ""
    check_agent_options(options(windows_argv(arguments)), "B:\\Video\\Projects")
    assert task.find("t:Triggers/t:LogonTrigger", TASK_NS) is not None
    assert task.findtext("t:Principals/t:Principal/t:LogonType", namespaces=TASK_NS) == (
        "InteractiveToken"
    )
    assert task.findtext("t:Settings/t:ExecutionTimeLimit", namespaces=TASK_NS) == "PT0S"
    assert task.find("t:Settings/t:RestartOnFailure", TASK_NS) is not None


def run_without_site_packages(code: str) -> subprocess.CompletedProcess[str]:
    """Python with only the standard library and this checkout: `pip install --no-deps`."""
    return subprocess.run(
        [
            sys.executable,
            "-S",
            "-s",
            "-c",
            f"import sys; sys.path.insert(0, {str(REPO)!r}); {code}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )


def test_media_sync_command_loads_without_dependencies() -> None:
    result = run_without_site_packages("import ingress.cli")
    assert result.returncode == 0, result.stderr


def test_agent_accepts_the_recipes_options_without_dependencies() -> None:
    probe = run_without_site_packages(
        "import importlib.util as u; print(u.find_spec('daemon.resolve_agent.agent') is not None)"
    )
    assert probe.stdout.strip() == "True", probe.stderr
    result = run_without_site_packages(
        "from ingress.cli import main; raise SystemExit(main(['resolve-agent', '--help']))"
    )
    assert result.returncode == 0, result.stderr
    for flag in ("--server", "--name", "--map"):
        assert flag in result.stdout
