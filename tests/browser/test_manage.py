"""Managing a selection in the explorer in a real Chromium: delete and undo, move, tags."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.factories import make_jpeg
from tests.support.api import create_project, listing, upload
from tests.support.browser import Tab

pytestmark = pytest.mark.browser

FITS = "document.documentElement.scrollWidth <= window.innerWidth"


def _card(name: str) -> str:
    return f"#grid .card[data-path$='/{name}']"


def _pick(tab: Tab, name: str) -> None:
    """Select a card from the keyboard: focus its checkbox, press Space."""
    tab.page.focus(f"{_card(name)} input[type=checkbox]")
    tab.page.keyboard.press("Space")
    tab.page.wait_for_selector(f"{_card(name)}.selected")


def _paths(api: httpx.Client, project: str, **params: str) -> set[str]:
    return {item["relative_path"] for item in listing(api, project, **params)}


def test_delete_asks_first_then_undo_restores_the_file(
    tab: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    project = create_project(api, "Manage Delete")
    kept = upload(api, project, make_jpeg(tmp_path / "kept.jpg", variant=1))["path"]
    gone = upload(api, project, make_jpeg(tmp_path / "gone.jpg", variant=2))["path"]
    on_disk = tab.server.root / project / gone
    assert on_disk.is_file()
    tab.open(project)
    page = tab.page
    page.wait_for_selector(_card("gone.jpg"))
    _pick(tab, "gone.jpg")

    # Escape backs out: nothing is deleted.
    page.click("#delete-selection")
    page.wait_for_selector("#delete-dialog[open]")
    assert page.text_content("#delete-title") == "Delete 1 item?"
    assert "gone.jpg" in (page.text_content("#delete-names") or "")
    tab.shot("delete-confirm", full_page=False)
    page.keyboard.press("Escape")
    assert not page.is_visible("#delete-dialog")
    assert on_disk.is_file()

    page.click("#delete-selection")
    page.click("#delete-confirm")
    page.wait_for_selector(_card("gone.jpg"), state="detached")
    page.wait_for_selector("#toast:not([hidden]) #toast-action:focus")  # Undo is one key away
    assert "Deleted 1 item" in (page.text_content("#toast-text") or "")
    assert page.text_content("#selection-count") == "0 selected"
    assert not on_disk.exists()
    assert _paths(api, project) == {kept}
    tab.shot("delete-undo-toast", full_page=False)

    page.keyboard.press("Enter")  # Undo
    page.wait_for_selector(_card("gone.jpg"))
    page.wait_for_function(
        "/Restored 1 item/.test(document.getElementById('toast-text').textContent)"
    )
    assert on_disk.is_file()
    assert _paths(api, project) == {kept, gone}
    tab.assert_clean()


def test_undo_goes_away_after_ten_seconds(tab: Tab, api: httpx.Client, tmp_path: Path) -> None:
    project = create_project(api, "Manage Undo Timeout")
    upload(api, project, make_jpeg(tmp_path / "brief.jpg", variant=3))
    tab.open(project)
    page = tab.page
    page.wait_for_selector(_card("brief.jpg"))
    page.check(f"{_card('brief.jpg')} input[type=checkbox]")
    page.click("#delete-selection")
    page.click("#delete-confirm")
    page.wait_for_selector("#toast:not([hidden])")
    page.mouse.click(5, 5)  # focus and pointer leave the toast, so its timer runs
    page.wait_for_selector("#toast", state="hidden", timeout=14_000)
    assert listing(api, project) == []
    tab.assert_clean()


def test_move_selection_to_another_project(tab: Tab, api: httpx.Client, tmp_path: Path) -> None:
    source = create_project(api, "Manage Move From")
    target = create_project(api, "Manage Move To")
    moving = upload(api, source, make_jpeg(tmp_path / "travel.jpg", variant=4))["path"]
    upload(api, source, make_jpeg(tmp_path / "stays.jpg", variant=5))
    tab.open(source)
    page = tab.page
    page.wait_for_selector(_card("travel.jpg"))
    _pick(tab, "travel.jpg")
    page.click("#move-selection")
    page.wait_for_selector("#move-dialog[open]")
    options = page.eval_on_selector_all("#move-target option", "os => os.map(o => o.value)")
    assert target in options and source not in options  # projects of this source but this one
    page.select_option("#move-target", target)
    tab.shot("move-dialog", full_page=False)
    page.click("#move-confirm")
    page.wait_for_function(
        "/^Moved 1 to /.test(document.getElementById('explorer-message').textContent)"
    )
    message = page.text_content("#explorer-message") or ""
    assert "0 duplicates · 0 missing" in message, message
    page.wait_for_selector(_card("travel.jpg"), state="detached")
    assert page.is_visible(_card("stays.jpg"))

    assert not (tab.server.root / source / moving).exists()
    landed = list((tab.server.root / target).rglob("travel.jpg"))
    assert len(landed) == 1 and landed[0].read_bytes() == (tmp_path / "travel.jpg").read_bytes()
    assert any(p.endswith("travel.jpg") for p in _paths(api, target))
    assert not any(p.endswith("travel.jpg") for p in _paths(api, source))
    tab.assert_clean()


def test_tag_a_selection_then_filter_by_the_tag(
    tab: Tab, api: httpx.Client, tmp_path: Path
) -> None:
    project = create_project(api, "Manage Tags")
    paths = {
        name: upload(api, project, make_jpeg(tmp_path / name, variant=variant))["path"]
        for variant, name in enumerate(["a.jpg", "b.jpg", "c.jpg"], start=6)
    }
    tab.open(project)
    page = tab.page
    page.wait_for_function("document.querySelectorAll('#grid .card').length === 3")
    _pick(tab, "a.jpg")
    _pick(tab, "b.jpg")
    page.click("#tag-selection")
    page.wait_for_selector("#tags-dialog[open] #tags-input:focus")
    page.keyboard.type("B-Roll,  interview ")
    page.keyboard.press("Enter")  # Enter adds
    page.wait_for_selector(f"{_card('a.jpg')}[data-tags='b-roll,interview']")
    page.wait_for_selector(f"{_card('b.jpg')}[data-tags='b-roll,interview']")
    assert page.get_attribute(_card("c.jpg"), "data-tags") == ""
    chips = page.eval_on_selector_all(
        f"{_card('a.jpg')} .tags li", "ls => ls.map(l => l.textContent)"
    )
    assert chips == ["b-roll", "interview"]
    tagged = {i["relative_path"].rsplit("/", 1)[-1]: i["tags"] for i in listing(api, project)}
    assert tagged == {
        "a.jpg": ["b-roll", "interview"],
        "b.jpg": ["b-roll", "interview"],
        "c.jpg": [],
    }
    tab.shot("tags-on-tiles")

    page.fill("#tag-filter", "interview")
    page.wait_for_function("document.querySelectorAll('#grid .card').length === 2")
    assert any("/media?" in u and "tag=interview" in u for u, _, _ in tab.responses)
    assert not page.is_visible(_card("c.jpg"))
    assert _paths(api, project, tag="interview") == {paths["a.jpg"], paths["b.jpg"]}

    # Remove one tag from one item: it leaves the filtered grid; the viewer shows what is left.
    page.click("#clear-selection")
    _pick(tab, "b.jpg")
    page.click("#tag-selection")
    page.fill("#tags-input", "interview")
    page.click("#tags-remove")
    page.wait_for_function("document.querySelectorAll('#grid .card').length === 1")
    page.fill("#tag-filter", "")
    page.wait_for_function("document.querySelectorAll('#grid .card').length === 3")
    page.click(f"{_card('b.jpg')} button.open")
    page.wait_for_selector("#viewer[open]")
    meta = page.text_content("#viewer-meta") or ""
    assert "Tagsb-roll" in meta and "interview" not in meta
    assert "Derived tags" in meta
    tab.shot("viewer-tags", full_page=False)
    tab.assert_clean()


def test_manage_dialogs_fit_a_phone(phone: Tab, api: httpx.Client, tmp_path: Path) -> None:
    project = create_project(api, "Manage Phone With A Long Project Name For Wrapping")
    create_project(api, "Manage Phone Other")
    for i in range(3):
        upload(api, project, make_jpeg(tmp_path / f"p{i}.jpg", variant=10 + i))
    phone.open(project)
    page = phone.page
    page.wait_for_function("document.querySelectorAll('#grid .card').length === 3")
    page.check(f"{_card('p0.jpg')} input[type=checkbox]")
    page.check(f"{_card('p1.jpg')} input[type=checkbox]")
    page.click("#tag-selection")
    page.fill("#tags-input", "phone")
    page.click("#tags-add")
    page.wait_for_selector(f"{_card('p1.jpg')}[data-tags='phone']")
    assert page.evaluate(FITS)
    page.eval_on_selector("#explorer", "e => e.scrollIntoView()")
    phone.shot("phone-tags-selection", full_page=False)
    for button, dialog in [
        ("#tag-selection", "#tags-dialog"),
        ("#move-selection", "#move-dialog"),
        ("#delete-selection", "#delete-dialog"),
    ]:
        page.click(button)
        page.wait_for_selector(f"{dialog}[open]")
        box = page.eval_on_selector(dialog, "d => d.getBoundingClientRect().toJSON()")
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        phone.shot(f"phone-{dialog[1:]}", full_page=False)
        page.keyboard.press("Escape")
        page.wait_for_selector(dialog, state="hidden")
    page.click("#delete-selection")
    page.click("#delete-confirm")
    page.wait_for_selector("#toast:not([hidden])")
    box = page.eval_on_selector("#toast", "t => t.getBoundingClientRect().toJSON()")
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert page.evaluate(FITS)
    phone.shot("phone-undo-toast", full_page=False)
    page.click("#toast-action")
    page.wait_for_function("document.querySelectorAll('#grid .card').length === 3")
    phone.assert_clean()
