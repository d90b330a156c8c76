"""The side panel of lists, "Move to…" and titles edited in place, in a real
browser: on a desktop and a phone, light and dark."""

import pytest
from playwright.sync_api import expect

from .conftest import DESKTOP, MOBILE, check_accessibility
from .test_browser import add, create_list, register, row


def panel_link(page, name):
    return page.get_by_role("navigation", name="Lists").get_by_role("link", name=name)


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", MOBILE)])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_panel_counts_open_todos_and_moves_follow(new_page, size, viewport, scheme):
    page = new_page(bypass_csp=True, viewport=viewport, color_scheme=scheme)  # axe is injected
    register(page)
    create_list(page, "Groceries")
    page.goto("/todos")
    add(page, "buy milk")
    add(page, "call mum")
    panel = page.get_by_role("navigation", name="Lists")
    if size == "phone":
        # Closed at the top, so the todos stay near; opened by its summary.
        expect(panel_link(page, "Inbox 2 open")).to_be_hidden()
        panel.get_by_text("Lists", exact=True).click()
    else:
        expect(panel.get_by_text("Lists", exact=True)).to_be_hidden()
    expect(panel_link(page, "Inbox 2 open")).to_be_visible()
    expect(panel_link(page, "Groceries 0 open")).to_be_visible()
    expect(panel.locator("[aria-current]")).to_have_count(0)
    check_accessibility(page, f"todos with the panel ({size}, {scheme})")

    row(page, "call mum").get_by_role("button", name="Mark “call mum” done").click()
    # Updated in place: the panel's count follows, and an opened panel stays open.
    expect(panel_link(page, "Inbox 1 open")).to_be_visible()

    # Move opens its choices in a dialog over the list; Escape closes it,
    # and the focus is back on the link that opened it.
    move_link = row(page, "buy milk").get_by_role("link", name="Move “buy milk”")
    move_link.click()
    dialog = page.get_by_role("dialog", name="Move to…")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text("(it is here)")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(move_link).to_be_focused()

    move_link.click()
    expect(dialog).to_be_visible()
    check_accessibility(page, f"move to ({size}, {scheme})")
    dialog.get_by_role("button", name="Groceries").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Moved “buy milk” to Groceries.")).to_be_visible()
    # In place: the same address, the panel as it was (open on a phone), the
    # focus on the moved row's Move link.
    expect(page).to_have_url("/todos")
    expect(move_link).to_be_focused()
    expect(panel_link(page, "Groceries 1 open")).to_be_visible()
    expect(panel_link(page, "Inbox 0 open")).to_be_visible()

    panel_link(page, "Groceries 1 open").click()
    expect(page.get_by_role("heading", name="Groceries")).to_be_visible()
    expect(row(page, "buy milk")).to_be_visible()
    if size == "phone":
        panel.get_by_text("Lists", exact=True).click()
    expect(panel_link(page, "Groceries 1 open")).to_have_attribute("aria-current", "page")
    check_accessibility(page, f"a list with the panel ({size}, {scheme})")


def test_click_a_title_to_edit_it_in_place(page):
    register(page)
    add(page, "buy milk")
    add(page, "call mum")
    row(page, "buy milk").locator(".title").click()
    field = page.get_by_role("textbox", name="Edit title")
    expect(field).to_be_focused()
    expect(field).to_have_value("buy milk")
    field.fill("buy oat milk")
    field.press("Enter")
    expect(field).to_be_hidden()
    expect(row(page, "buy oat milk")).to_be_visible()
    page.reload()
    expect(row(page, "buy oat milk")).to_be_visible()  # saved, not only shown

    # Escape puts the title back, and nothing is saved.
    row(page, "call mum").locator(".title").click()
    field.fill("something else")
    field.press("Escape")
    expect(row(page, "call mum")).to_be_visible()
    page.reload()
    expect(row(page, "call mum")).to_be_visible()
    expect(page.get_by_text("something else")).to_have_count(0)

    # A title the server refuses keeps the field, with its reason.
    row(page, "call mum").locator(".title").click()
    field.fill("x" * 1000)
    field.press("Enter")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("li.todo .title").get_by_role("alert")).to_contain_text("200")
    field.press("Escape")
    expect(row(page, "call mum")).to_be_visible()


def test_without_javascript_the_title_stays_text_and_a_move_can_be_undone(new_page):
    page = new_page(java_script_enabled=False)
    register(page)
    create_list(page, "Groceries")
    add(page, "buy milk")  # on the list's page: in Groceries
    row(page, "buy milk").locator(".title").click()
    expect(page.get_by_role("textbox", name="Edit title")).to_have_count(0)
    row(page, "buy milk").get_by_role("link", name="Move “buy milk”").click()
    expect(page.get_by_text("Groceries (it is here)")).to_be_visible()
    page.get_by_role("button", name="Inbox").click()
    expect(page.get_by_text("Moved “buy milk” to Inbox.")).to_be_visible()
    expect(page.get_by_role("heading", name="Groceries")).to_be_visible()  # back where it was
    expect(row(page, "buy milk")).to_have_count(0)
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text("Moved “buy milk” to Groceries.")).to_be_visible()
    expect(row(page, "buy milk")).to_be_visible()


def test_a_todo_moved_off_a_list_hands_the_focus_to_the_next_row(page):
    register(page)
    create_list(page, "Groceries")
    for title in ("eggs", "bread", "jam"):
        add(page, title)  # on the list's page: newest first, jam at the top
    row(page, "bread").get_by_role("link", name="Move “bread”").click()
    dialog = page.get_by_role("dialog", name="Move to…")
    dialog.get_by_role("button", name="Inbox").click()
    expect(page.get_by_text("Moved “bread” to Inbox.")).to_be_visible()
    expect(page.get_by_role("heading", name="Groceries")).to_be_visible()
    expect(row(page, "bread")).to_have_count(0)
    expect(row(page, "eggs").get_by_role("link", name="Move “eggs”")).to_be_focused()
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text("Moved “bread” to Groceries.")).to_be_visible()
    expect(row(page, "bread")).to_be_visible()

    # "v" opens the current row's Move; the shortcuts are off while it is open.
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")  # the first row: jam
    page.keyboard.press("v")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text("jam")).to_be_visible()
    page.keyboard.press("j")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Inbox")).to_be_focused()
