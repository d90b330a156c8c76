"""A person in a real browser: clicks and typing, with JavaScript, without it,
and with the keyboard only; accessibility and screenshots of every page."""

import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from ..conftest import PASSWORD
from .conftest import DESKTOP, MOBILE, SCREENSHOTS, check_accessibility


def register(page, name=None):
    name = name or f"u{uuid.uuid4().hex[:10]}"
    page.goto("/auth/register")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Todos")).to_be_visible()
    return name


def log_in(page, name):
    page.goto("/auth/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Todos")).to_be_visible()


def log_out(page):
    """Log out from the header; on a phone from its Menu, opened first."""
    menu = page.get_by_role("navigation", name="Main").get_by_text("Menu", exact=True)
    if menu.is_visible():
        menu.click()
    page.get_by_role("button", name=re.compile("Log out")).click()


def add(page, title):
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".todo .title", has_text=title)).to_be_visible()


BULK_QUESTION = "Delete the ticked todos and lists forever? This cannot be undone."


def answer_next_dialog(page, *, accept):
    """Answer dialogs OK or Cancel from now on; the returned list gets the
    text of each one asked after this call."""
    page.accept_dialogs = accept
    return ListTail(page.dialogs)


class ListTail:
    """What is appended to ``items`` after this is made, compared as a list."""

    def __init__(self, items):
        self.items, self.start = items, len(items)

    def __eq__(self, other):
        return self.items[self.start :] == other

    def __repr__(self):
        return repr(self.items[self.start :])


def row(page, title):
    return page.locator("li.todo", has=page.locator(".title", has_text=title))


def create_list(page, name):
    page.goto("/lists")
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create list").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()


def trash_list(page, name):
    page.goto("/lists")
    page.get_by_role("button", name=f"Delete list “{name}” and its todos").click()
    expect(page.get_by_text(f"Moved the list “{name}”")).to_be_visible()


def test_lists_in_the_trash_as_a_new_user_meets_them(page):
    register(page)
    create_list(page, "Groceries")
    for title in ("Oat milk", "Apples", "Bread"):
        add(page, title)
    create_list(page, "Work")
    add(page, "Send the report")

    page.goto("/lists")
    page.get_by_role("link", name="Groceries", exact=True).click()
    row(page, "Bread").get_by_role("button", name="Delete").click()  # on its own
    # Updated in place: its message is read before the next page is opened.
    expect(page.get_by_text("Moved “Bread” to the trash.")).to_be_visible()
    trash_list(page, "Groceries")
    expect(
        page.get_by_text("Moved the list “Groceries”, with 2 todos, to the trash.")
    ).to_be_visible()

    # Undo: back on the lists page, where Delete was pressed; the list is
    # back with the two todos trashed with it.
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("heading", name="Lists")).to_be_visible()
    page.get_by_role("link", name="Groceries", exact=True).click()
    expect(page.get_by_role("heading", name="Groceries")).to_be_visible()
    expect(row(page, "Oat milk")).to_be_visible()
    expect(row(page, "Apples")).to_be_visible()
    expect(row(page, "Bread")).to_have_count(0)

    # Again, and restored from the trash: the separately trashed todo stays.
    trash_list(page, "Groceries")
    page.goto("/trash")
    expect(page.get_by_text("Groceries, with 2 todos")).to_be_visible()
    expect(row(page, "Bread")).to_be_visible()
    page.get_by_role("button", name="Restore the list “Groceries”").click()
    expect(page.get_by_text("Restored the list “Groceries”, with 2 todos.")).to_be_visible()
    expect(row(page, "Bread")).to_be_visible()
    page.goto("/todos")
    expect(row(page, "Oat milk")).to_contain_text("in Groceries")
    expect(row(page, "Send the report")).to_contain_text("in Work")

    # The name is free once the list is in the trash; the old one then comes
    # back under a new name, through the form.
    trash_list(page, "Groceries")
    create_list(page, "groceries")
    page.goto("/trash")
    page.get_by_role("button", name="Restore the list “Groceries”").click()
    expect(page.get_by_text("needs a new name")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Groceries (2)")
    page.get_by_role("button", name="Restore as the new name").click()
    expect(page.get_by_text("Restored the list “Groceries (2)”, with 2 todos.")).to_be_visible()
    page.goto("/lists")
    for name in ("Inbox", "groceries", "Groceries (2)", "Work"):
        expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()


def test_the_whole_journey_with_the_mouse(page):
    name = register(page)
    for title in ("Water the plants", "Pay rent", "Call mum", "Book dentist"):
        add(page, title)

    row(page, "Pay rent").get_by_role("link", name="Edit").click()
    page.get_by_label("Title").fill("Pay rent by Friday")
    page.get_by_role("button", name="Save").click()
    expect(row(page, "Pay rent by Friday")).to_be_visible()

    row(page, "Call mum").get_by_role("button", name="Mark “Call mum” done").click()
    expect(row(page, "Call mum")).to_have_class(re.compile("is-done"))

    row(page, "Water the plants").get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Moved “Water the plants” to the trash.")).to_be_visible()
    expect(row(page, "Water the plants")).to_have_count(0)
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text("Restored “Water the plants”.")).to_be_visible()
    expect(row(page, "Water the plants")).to_be_visible()

    for title in ("Water the plants", "Book dentist"):
        row(page, title).get_by_role("button", name="Delete").click()
    page.get_by_text("Completed (1)").click()  # where the done "Call mum" is
    row(page, "Call mum").get_by_role("button", name="Delete").click()
    page.get_by_role("link", name="Trash").click()
    trashed = row(page, "Book dentist")
    expect(trashed).to_contain_text("deleted just now · purged in 30 days")
    # The exact time, in the browser's zone (UTC on this machine), as a date people read.
    assert re.fullmatch(
        r"\w{3} \d{1,2}, \d{4}, \d\d:\d\d [AP]M UTC",
        trashed.locator("time").first.get_attribute("title"),
    )

    trashed.get_by_role("link", name="Details").click()
    expect(page.get_by_role("heading", name="Restore this todo?")).to_be_visible()
    page.get_by_role("button", name="Restore", exact=True).click()
    expect(page.get_by_text("Restored “Book dentist”.")).to_be_visible()
    expect(row(page, "Book dentist")).to_be_visible()

    page.get_by_role("link", name="Trash").click()
    row(page, "Call mum").get_by_role("button", name="Delete forever: “Call mum”").click()
    expect(page.get_by_text("Deleted “Call mum” forever.")).to_be_visible()
    assert page.dialogs == ["Delete “Call mum” forever? This cannot be undone."]

    page.get_by_role("button", name="Empty trash").click()
    expect(page.get_by_text("Nothing in the trash.")).to_be_visible()
    assert page.dialogs[-1].startswith("Delete every todo and list in the trash forever?")

    page.get_by_role("button", name=re.compile("Log out")).click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.goto("/todos")
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
    assert name


def test_bulk_restore_and_bulk_delete_in_the_trash(page):
    register(page)
    for title in ("one", "two", "three", "four"):
        add(page, title)
        row(page, title).get_by_role("button", name="Delete").click()
    page.get_by_role("link", name="Trash").click()
    page.get_by_label("Select “one”").check()
    page.get_by_label("Select “two”").check()
    page.get_by_role("button", name="Restore selected").click()
    expect(page.get_by_text("Restored: 2 todos.")).to_be_visible()
    page.get_by_label("Select “three”").check()
    # Cancel in the dialog: nothing is sent, "three" stays in the trash.
    asked = answer_next_dialog(page, accept=False)
    page.get_by_role("button", name="Delete selected forever").click()
    expect(page.get_by_label("Select “three”")).to_be_checked()
    assert asked == [BULK_QUESTION]
    page.reload()
    expect(page.get_by_label("Select “three”")).to_be_visible()
    # OK: deleted.
    page.get_by_label("Select “three”").check()
    asked = answer_next_dialog(page, accept=True)
    page.get_by_role("button", name="Delete selected forever").click()
    expect(page.get_by_text("Deleted forever: 1 todo.")).to_be_visible()
    assert asked == [BULK_QUESTION]
    expect(row(page, "four")).to_be_visible()
    page.get_by_role("link", name="Todos").click()
    expect(row(page, "one")).to_be_visible()
    expect(row(page, "two")).to_be_visible()


def test_the_trash_bar_selects_all_and_waits_for_a_tick(page):
    register(page)
    for title in ("one", "two"):
        add(page, title)
        row(page, title).get_by_role("button", name="Delete").click()
    create_list(page, "Errands")
    trash_list(page, "Errands")
    page.goto("/trash")
    restore = page.get_by_role("button", name="Restore selected")
    purge = page.get_by_role("button", name="Delete selected forever")
    expect(page.get_by_text("Tick todos or lists to restore or delete them.")).to_be_visible()
    expect(restore).to_be_disabled()
    expect(purge).to_be_disabled()
    page.get_by_label("Select all").check()
    for box in ("Select “one”", "Select “two”", "Select the list “Errands”"):
        expect(page.get_by_label(box)).to_be_checked()
    expect(page.get_by_text("With the 3 ticked:")).to_be_visible()
    expect(purge).to_be_enabled()
    page.get_by_label("Select “two”").uncheck()
    expect(page.get_by_label("Select all")).not_to_be_checked()
    restore.click()
    expect(page.get_by_text("Restored: 2 entries.")).to_be_visible()
    expect(row(page, "two")).to_be_visible()
    expect(page.get_by_role("button", name="Restore selected")).to_be_disabled()


def test_without_javascript_the_trash_bar_says_when_nothing_was_ticked(new_page):
    page = new_page(java_script_enabled=False)
    register(page)
    add(page, "kept")
    row(page, "kept").get_by_role("button", name="Delete").click()
    page.goto("/trash")
    expect(page.get_by_label("Select all")).to_have_count(0)  # it needs the script
    page.get_by_role("button", name="Restore selected").click()
    expect(page.get_by_text("Nothing was ticked.", exact=False)).to_be_visible()
    expect(row(page, "kept")).to_be_visible()


def test_after_a_registration_error_the_focus_is_on_the_field_to_fix(page):
    page.goto("/auth/register")
    expect(page.get_by_label("Username")).to_be_focused()
    page.get_by_label("Username").fill(f"u{uuid.uuid4().hex[:10]}")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill("not the same at all")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("The two passwords differ.")).to_be_visible()
    expect(page.get_by_label("Repeat password")).to_be_focused()
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_label("Password", exact=True)).to_be_focused()


GAP_BELOW = """(el) => {
  const next = el.nextElementSibling;
  return next.getBoundingClientRect().top - el.getBoundingClientRect().bottom;
}"""
# Each table row's buttons: how many lines they take, and how far the
# middle of that line is from the middle of the row.
BUTTONS_IN_LINE = """(table) => [...table.querySelectorAll("tbody tr")].map((row) => {
  const buttons = [...row.querySelectorAll("button")].map((b) => b.getBoundingClientRect());
  if (!buttons.length) return [1, 0];
  // One line: every button centred at one height (an icon button is not as tall as a worded one).
  const tops = new Set(buttons.map((b) => Math.round((b.top + b.bottom) / 2)));
  const box = row.getBoundingClientRect();
  const middle = (buttons[0].top + buttons[0].bottom) / 2;
  return [tops.size, Math.abs(middle - (box.top + box.bottom) / 2)];
})"""


def test_buttons_look_like_buttons_cards_keep_apart_and_admin_tables_stay_in_line(new_page):
    page = new_page(viewport=DESKTOP)
    name = register(page)
    add(page, "Water the plants")
    row(page, "Water the plants").get_by_role("button", name="Delete").click()
    page.goto("/account")
    change = page.get_by_role("link", name="Change password")
    looks = change.evaluate(
        "(a) => { const s = getComputedStyle(a); return [s.backgroundColor, s.textDecorationLine,"
        " a.getBoundingClientRect().height]; }"
    )
    assert looks[0] != "rgba(0, 0, 0, 0)" and looks[1] == "none" and looks[2] >= 36, looks
    assert page.locator("section.card").first.evaluate(GAP_BELOW) >= 12
    page.get_by_role("button", name=f"Log out ({name})").click()

    log_in(page, "root")
    page.goto("/admin/activity")
    assert page.locator("section.card").first.evaluate(GAP_BELOW) >= 12
    for path in ("/admin/users", f"/admin/trash?user={name}"):
        page.goto(path)
        for lines, off_middle in page.locator("table").evaluate(BUTTONS_IN_LINE):
            assert lines == 1 and off_middle <= 2, (path, lines, off_middle)
    # On a phone the tables become cards; nothing there needs sideways scrolling.
    page.set_viewport_size(MOBILE)
    for path in ("/admin/users", "/admin/activity", f"/admin/trash?user={name}", "/account"):
        page.goto(path)
        assert page.evaluate(CONTROLS_SCROLLED_AWAY) == [], path


def test_an_arabic_title_reads_right_to_left(page):
    register(page)
    add(page, "شراء الحليب")
    title = row(page, "شراء الحليب").locator(".title")
    assert title.evaluate("(el) => getComputedStyle(el).direction") == "rtl"
    page.get_by_label("Title").fill("اتصل بأمي")
    assert page.get_by_label("Title").evaluate("(el) => getComputedStyle(el).direction") == "rtl"


def test_the_admin_trash_with_its_owner_filter(page, new_page):
    owner = register(page)
    add(page, "owner's secret")
    row(page, "owner's secret").get_by_role("button", name="Delete").click()

    admin = new_page()
    log_in(admin, "root")
    admin.get_by_role("link", name="Admin trash").click()
    expect(admin.get_by_role("cell", name="owner's secret", exact=True)).to_be_visible()
    admin.get_by_role("textbox", name="Owner").fill(owner)
    admin.get_by_role("button", name="Filter").click()
    expect(admin.get_by_role("cell", name="owner's secret", exact=True)).to_be_visible()
    expect(admin.locator("tbody tr")).to_have_count(1)
    admin.get_by_label("Select “owner's secret”").check()
    asked = answer_next_dialog(admin, accept=False)
    admin.get_by_role("button", name="Delete selected forever").click()
    expect(admin.get_by_label("Select “owner's secret”")).to_be_checked()
    assert asked == [BULK_QUESTION]
    admin.reload()
    admin.get_by_role("button", name="Restore “owner's secret”").click()
    expect(admin.get_by_text(f"Restored “owner's secret” for {owner}.")).to_be_visible()
    page.reload()
    expect(row(page, "owner's secret")).to_be_visible()


def test_the_core_flow_works_without_javascript(new_page):
    page = new_page(java_script_enabled=False)
    register(page)
    add(page, "plain forms")
    row(page, "plain forms").get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Undo").click()
    expect(row(page, "plain forms")).to_be_visible()
    row(page, "plain forms").get_by_role("button", name="Delete").click()
    page.get_by_role("link", name="Trash").click()
    row(page, "plain forms").get_by_role("button", name="Restore “plain forms”").click()
    expect(page.get_by_text("Restored “plain forms”.")).to_be_visible()
    # Without the script, exact times stay in UTC and say so.
    page.goto("/todos")
    assert row(page, "plain forms").locator("time").get_attribute("title").endswith(" UTC")


def test_exact_times_are_shown_in_the_readers_time_zone(new_page):
    page = new_page(timezone_id="Asia/Tokyo", locale="en-GB")
    register(page)
    add(page, "what time is it")
    moment = row(page, "what time is it").locator("time")
    stored = datetime.fromisoformat(moment.get_attribute("datetime"))
    in_tokyo = stored.astimezone(ZoneInfo("Asia/Tokyo"))
    shown = moment.get_attribute("title")
    assert "UTC" not in shown
    assert f"{in_tokyo:%H:%M}" in shown and str(in_tokyo.day) in shown, shown
    assert "GMT+9" in shown or "JST" in shown, shown


def tab_to(page, predicate_js, limit=60):
    """Press Tab until the focused element matches; return its outline style."""
    page.wait_for_load_state()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return {predicate_js}; }}"):
            return page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    pytest.fail(f"never reached an element where {predicate_js}")


def enter(page):
    """Press Enter on a button or in a form field: the page is updated in
    place, or the next one opens; what the test expects next waits for it."""
    page.keyboard.press("Enter")


def test_keyboard_only(page):
    register(page)
    page.goto("/todos")
    tab_to(page, "el.name === 'title'")
    page.keyboard.type("by keyboard")
    enter(page)
    expect(row(page, "by keyboard")).to_be_visible()

    outline = tab_to(page, "el.getAttribute('aria-label') === 'Delete “by keyboard”'")
    assert outline != "none", "focus must be visible"
    enter(page)
    expect(page.get_by_text("Moved “by keyboard” to the trash.")).to_be_visible()
    tab_to(page, "el.textContent.trim() === 'Undo'")
    enter(page)
    expect(row(page, "by keyboard")).to_be_visible()

    tab_to(page, "el.getAttribute('aria-label') === 'Delete “by keyboard”'")
    enter(page)
    tab_to(page, "el.textContent.trim() === 'Trash'")
    enter(page)
    expect(page.get_by_role("heading", name="Trash")).to_be_visible()
    tab_to(page, "el.getAttribute('aria-label') === 'Restore “by keyboard”'")
    enter(page)
    expect(page.get_by_text("Restored “by keyboard”.")).to_be_visible()


def test_keyboard_shortcuts(new_page):
    page = new_page(bypass_csp=True)  # axe is injected as a script
    register(page)
    for title in ("First by keys", "Second by keys", "Third by keys"):
        add(page, title)
    page.locator("body").click(position={"x": 5, "y": 5})  # out of the add field
    page.keyboard.press("j")
    page.keyboard.press("j")
    second = page.locator(".todo-list > li.todo").nth(1)  # newest first
    expect(second.locator(":focus")).to_have_count(1)
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the current row's focus must be visible"
    page.keyboard.press("x")
    page.get_by_text("Completed (1)").click()  # done, it went to the Completed section
    expect(
        row(page, "Second by keys").get_by_role("button", name="Mark “Second by keys” not done")
    ).to_have_attribute("aria-pressed", "true")
    expect(
        row(page, "Third by keys").get_by_role("button", name="Mark “Third by keys” done")
    ).to_be_visible()

    page.keyboard.press("/")
    search = page.get_by_label("Search your todos, lists and trash")
    expect(search).to_be_focused()
    page.keyboard.type("q")
    expect(search).to_have_value("q")
    expect(search).to_be_focused()
    expect(page.get_by_label("Title")).to_have_value("")

    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("q")
    expect(page.get_by_label("Title")).to_be_focused()
    page.keyboard.type("j")
    expect(page.get_by_label("Title")).to_have_value("j")

    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    check_accessibility(page, "shortcuts dialog")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.keyboard.press("?")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()


def visit_every_page(page, owner=None):
    """Every page with content, then the empty states; yields (label, page).
    ``owner``: the new user's name (a random one by default)."""
    owner = register(page, owner)
    for title in ("Water the plants", "Pay rent before Friday", "Book the dentist", "Reply to Sam"):
        add(page, title)
    row(page, "Reply to Sam").get_by_role("button", name=re.compile("Mark")).click()
    row(page, "Book the dentist").get_by_role("button", name="Delete").click()
    row(page, "Water the plants").get_by_role("button", name="Delete").click()
    # Updated in place, one after another: done once the last message is read.
    expect(page.get_by_text("Moved “Water the plants” to the trash.")).to_be_visible()
    page.goto("/todos")
    page.locator("details.completed summary").click()  # open, to be seen
    yield "list", page
    create_list(page, "Groceries")
    for title in ("Oat milk", "Apples", "Bread"):
        add(page, title)
    row(page, "Bread").get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Moved “Bread” to the trash.")).to_be_visible()
    yield "list-page", page
    create_list(page, "Work")
    add(page, "Send the report")
    page.goto("/lists")
    yield "lists", page
    page.get_by_role("searchbox").fill("the")
    page.get_by_role("searchbox").press("Enter")
    expect(page.get_by_role("heading", name="Search", exact=True)).to_be_visible()
    yield "search", page
    trash_list(page, "Groceries")
    page.goto("/trash")
    yield "trash", page
    row(page, "Book the dentist").get_by_role("link", name="Details").click()
    yield "restore", page
    trashed_id = page.url.rstrip("/").split("/")[-2]
    page.goto(f"/todos/{trashed_id}/edit")  # a tab opened before it was deleted
    yield "in-trash", page
    page.goto("/trash")
    row(page, "Bread").get_by_role("link", name="Details").click()
    yield "restore-choice", page
    create_list(page, "Groceries")
    page.goto("/trash")
    page.get_by_role("link", name="Details of the list “Groceries”").click()
    yield "restore-list-rename", page
    page.goto("/todos")
    row(page, "Pay rent").get_by_role("link", name="Edit").click()
    yield "edit", page
    page.goto("/account")
    yield "account", page
    page.goto("/account/password")
    yield "password", page
    log_out(page)
    yield "login", page
    log_in(page, "root")
    page.goto(f"/admin/trash?user={owner}")
    yield "admin-trash", page
    page.goto("/admin/users")
    yield "admin-users", page
    page.goto(f"/admin/activity?user={owner}")
    yield "admin-activity", page
    page.goto("/admin/trash?user=nobody-here")
    yield "admin-trash-unknown-owner", page
    page.goto("/trash")
    yield "trash-empty", page
    page.goto("/todos")
    yield "list-empty", page
    page.goto("/no/such/page")
    yield "not-found", page
    log_out(page)
    page.goto("/auth/register")
    yield "register", page


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_passes_axe(new_page, scheme):
    page = new_page(bypass_csp=True, color_scheme=scheme)  # axe is injected as a script
    for label, current in visit_every_page(page):
        check_accessibility(current, f"{label} ({scheme})")


# Every visible control whose centre lies outside a box that scrolls (or
# clips) sideways, or outside the window: a user would have to scroll the
# box to reach it. Visually hidden labels and the skip link are left out.
CONTROLS_SCROLLED_AWAY = """() => {
  const away = [];
  const controls = "a[href], button, input:not([type=hidden]), select, textarea";
  for (const el of document.querySelectorAll(controls)) {
    if (el.closest(".visually-hidden, .skip-link")) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    const x = box.left + box.width / 2;
    let inside = x >= 0 && x <= document.documentElement.clientWidth;
    for (let up = el.parentElement; inside && up; up = up.parentElement) {
      if (/auto|scroll|hidden|clip/.test(getComputedStyle(up).overflowX)) {
        const frame = up.getBoundingClientRect();
        inside = x >= frame.left && x <= frame.right;
      }
    }
    if (!inside) away.push((el.innerText || el.getAttribute("aria-label") || el.name).trim());
  }
  return away;
}"""


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("mobile", MOBILE)])
def test_screenshots_and_no_sideways_scrolling(new_page, size, viewport):
    page = new_page(viewport=viewport)
    wanted = {
        "list",
        "trash",
        "restore",
        "admin-trash",
        "lists",
        "list-page",
        "restore-list-rename",
        "search",
    }
    # Fixed, readable names (each run has a fresh database), so the README
    # shows what a user would see and a diff of the pictures shows real changes.
    owner = {"desktop": "ada", "mobile": "grace"}[size]
    for label, current in visit_every_page(page, owner):
        width = current.evaluate("() => document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{label} scrolls sideways at {size}: {width}px"
        hidden = current.evaluate(CONTROLS_SCROLLED_AWAY)
        assert hidden == [], f"{label} at {size}: controls that need sideways scrolling: {hidden}"
        if label in wanted:
            current.screenshot(path=str(SCREENSHOTS / f"{label}-{size}.png"), full_page=True)


def test_no_page_breaks_the_content_security_policy_or_asks_for_a_missing_file(page):
    violations, missing = [], []
    page.on(
        "console", lambda msg: "Content Security Policy" in msg.text and violations.append(msg.text)
    )
    page.on("response", lambda r: r.status == 404 and missing.append(r.url))
    for label, _ in visit_every_page(page):
        assert violations == [], label
        if label not in ("not-found", "in-trash"):  # the 404s asked for
            assert missing == [], f"{label}: {missing}"  # a favicon.ico, say
        missing.clear()


def change_password(page, current, new):
    page.get_by_label("Current password").fill(current)
    page.get_by_label("New password", exact=True).fill(new)
    page.get_by_label("Repeat the new password").fill(new)
    page.get_by_role("button", name="Change password").click()


def test_accounts_passwords_sessions_and_the_admin(new_page):
    laptop, phone, admin = new_page(), new_page(), new_page()
    name = register(laptop)
    log_in(phone, name)

    # Change the password on the laptop: the phone's session ends.
    laptop.get_by_role("link", name="Account").click()
    expect(laptop.get_by_role("heading", name="Your account")).to_be_visible()
    laptop.get_by_role("link", name="Change password").click()
    expect(laptop.get_by_text(re.compile("At least 8 characters"))).to_be_visible()  # the rules
    change_password(laptop, PASSWORD, "password")
    expect(laptop.get_by_text("That password is one of the most common ones")).to_be_visible()
    new = "plum kettle orbit seventeen"
    change_password(laptop, PASSWORD, new)
    expect(laptop.get_by_text("Your password is changed.")).to_be_visible()
    phone.goto("/todos")
    expect(phone.get_by_role("heading", name="Log in")).to_be_visible()

    # The admin disables the account: the laptop is logged out at its next page.
    log_in(admin, "root")
    admin.get_by_role("link", name="Users").click()
    admin.get_by_role("button", name=f"Disable {name}").click()
    assert admin.dialogs[-1].startswith(f"Disable {name}?")
    expect(admin.get_by_text(f"{name} disabled.")).to_be_visible()
    laptop.goto("/todos")
    expect(laptop.get_by_role("heading", name="Log in")).to_be_visible()

    # Enabled again, with a temporary password that must be changed first.
    admin.get_by_role("button", name=f"Enable {name}").click()
    admin.get_by_role("button", name=f"Temporary password for {name}").click()
    temporary = admin.locator(".secret code").inner_text()
    laptop.get_by_label("Username").fill(name)
    laptop.get_by_label("Password").fill(temporary)
    laptop.get_by_role("button", name="Log in").click()
    expect(laptop.get_by_role("heading", name="Change password")).to_be_visible()
    expect(laptop.get_by_text("An administrator set a temporary password")).to_be_visible()
    change_password(laptop, temporary, "quiet lantern harbour maple")
    expect(laptop.get_by_text("Your password is changed.")).to_be_visible()

    # The admin reads what happened.
    admin.goto("/admin/users")
    admin.get_by_role("link", name="Activity").click()
    admin.get_by_label("User").fill(name)
    admin.get_by_role("button", name="Filter").click()
    log = admin.locator("table.activity-table")
    for says in (
        "changed the password",
        "set a temporary password",
        "enabled an account",
        "disabled an account",
        "registered",
    ):
        expect(log.get_by_text(says, exact=False).first).to_be_visible()


def test_a_todo_due_today_where_the_reader_is(new_page):
    # UTC+14: for most of the day already tomorrow in UTC terms. The page's
    # script tells the server the zone; "today" is the reader's date.
    zone = "Pacific/Kiritimati"
    page = new_page(timezone_id=zone, locale="en-GB")
    register(page)
    today = datetime.now(ZoneInfo(zone)).date()
    page.get_by_label("Title").fill("ring the vet")
    page.get_by_label("Due date").fill(today.isoformat())
    page.get_by_role("button", name="Add").click()
    expect(row(page, "ring the vet").get_by_text("Due today")).to_be_visible()
    page.get_by_role("link", name="Today").click()
    expect(page.get_by_role("heading", name="Today")).to_be_visible()
    expect(row(page, "ring the vet")).to_be_visible()
    page.get_by_role("link", name="Overdue").click()
    expect(page.get_by_text("Nothing is overdue.")).to_be_visible()
    # A date the browser cannot take is never sent; one typed without a
    # picker is refused with a clear error, and the title stays.
    page.goto("/todos")
    page.get_by_label("Title").fill("pay rent")
    page.evaluate("document.getElementById('due_on').type = 'text'")
    page.get_by_label("Due date").fill("next Tuesday")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_text("Enter the date as YYYY-MM-DD, or leave it empty.")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("pay rent")


def test_a_todo_deleted_in_another_tab_says_so_and_keeps_the_edit(page):
    register(page)
    add(page, "Buy milk")
    row(page, "Buy milk").get_by_role("link", name="Edit").click()
    other_tab = page.context.new_page()
    other_tab.goto("/todos")
    row(other_tab, "Buy milk").get_by_role("button", name="Delete").click()
    expect(other_tab.get_by_text("Moved “Buy milk” to the trash.")).to_be_visible()

    page.get_by_label("Title").fill("Buy oat milk")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="This todo is in the trash")).to_be_visible()
    expect(page.get_by_label("What you typed")).to_have_value("Buy oat milk")
    page.get_by_role("button", name="Restore").click()
    expect(page.get_by_label("Title")).to_have_value("Buy oat milk")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".todo .title", has_text="Buy oat milk")).to_be_visible()


def test_the_account_lists_sessions_and_ends_one(new_page):
    iphone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
    )
    laptop, phone = new_page(), new_page(user_agent=iphone, viewport=MOBILE)
    name = register(laptop)
    log_in(phone, name)
    laptop.get_by_role("link", name="Account").click()
    sessions = laptop.get_by_role("region", name="Sessions")
    expect(sessions.get_by_text("This session")).to_be_visible()
    expect(sessions.get_by_text("Safari 18 on iOS")).to_be_visible()
    sessions.get_by_role("button", name="End the session of Safari 18 on iOS").click()
    expect(laptop.get_by_text("Ended the session.")).to_be_visible()
    expect(sessions.get_by_text("Safari 18 on iOS")).to_have_count(0)

    phone.goto("/todos")
    expect(phone.get_by_role("heading", name="Log in")).to_be_visible()
    expect(phone.get_by_text("Your session was ended from another device.")).to_be_visible()


ANNOUNCED = "body > [role=status].visually-hidden"
SCROLL_Y = "() => window.scrollY"
NOT_RELOADED = "() => window.keptSinceLoad === true"
TOP = "(el) => el.getBoundingClientRect().top"
# A row "stays put" within a third of a line: a message above it may change height.
NEAR = 8
AT_END = "() => window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2"


def add_numbered(page, count):
    """Add ``count`` todos, "todo 01" up; newest first, so the list shows them backwards."""
    for n in range(1, count + 1):
        add(page, f"todo {n:02}")


@pytest.mark.parametrize(
    ("viewport", "scheme"), [(DESKTOP, "light"), (MOBILE, "dark")], ids=["desktop", "phone"]
)
def test_a_long_list_keeps_my_place(new_page, viewport, scheme):
    page = new_page(viewport=viewport, color_scheme=scheme, bypass_csp=True)  # axe is injected
    register(page)
    title = page.get_by_label("Title")
    expect(title).to_be_focused()  # a list opens with the focus in its add field
    add_numbered(page, 30)
    # Added in place: the field keeps the focus, empty for the next one.
    expect(title).to_be_focused()
    expect(title).to_have_value("")
    rows = page.locator(".todo-list > li.todo")
    expect(rows).to_have_count(30)
    page.evaluate("() => { window.keptSinceLoad = true; }")

    # Tick the 25th: it goes to the Completed section, and the next row takes
    # its place on the screen, and the focus.
    twenty_fifth = rows.nth(24)
    name = twenty_fifth.locator(".title").inner_text()
    after = rows.nth(25).locator(".title").inner_text()
    twenty_fifth.scroll_into_view_if_needed()
    on_screen = twenty_fifth.evaluate(TOP)
    assert page.evaluate(SCROLL_Y) > 0
    twenty_fifth.get_by_role("button", name=f"Mark “{name}” done").click()
    expect(row(page, after).get_by_role("button", name=f"Mark “{after}” done")).to_be_focused()
    expect(page.locator(ANNOUNCED)).to_have_text(f"{name}: done.")
    expect(page.locator("details.completed summary")).to_have_text("Completed (1)")
    now_top = row(page, after).evaluate(TOP)
    assert abs(now_top - on_screen) <= NEAR or page.evaluate(AT_END), (on_screen, now_top)
    # Not done again, from the opened section: back in its place, focused.
    page.locator("details.completed summary").click()
    row(page, name).get_by_role("button", name=f"Mark “{name}” not done").click()
    expect(page.locator(ANNOUNCED)).to_have_text(f"{name}: not done.")
    expect(row(page, name).get_by_role("button", name=f"Mark “{name}” done")).to_be_focused()
    expect(rows).to_have_count(30)
    assert rows.nth(24).locator(".title").inner_text() == name
    assert page.evaluate(NOT_RELOADED)

    # Delete it: the next row takes its place on the screen, and the focus.
    following = rows.nth(25).locator(".title").inner_text()
    # From mid-screen (the untick left it where the Completed section was).
    top = row(page, name).evaluate(
        "(el) => { el.scrollIntoView({block: 'center'}); return el.getBoundingClientRect().top; }"
    )
    row(page, name).get_by_role("button", name=f"Delete “{name}”").click()
    expect(row(page, name)).to_have_count(0)
    expect(row(page, following).get_by_role("button", name=f"Delete “{following}”")).to_be_focused()
    expect(page.locator(ANNOUNCED)).to_have_text(f"Moved “{name}” to the trash.")
    now_top = row(page, following).evaluate(TOP)
    # Unless the page's end holds it back.
    at_end = page.evaluate(AT_END)
    assert abs(now_top - top) <= NEAR or (at_end and now_top > top), (top, now_top)

    # Undo, from the message at the top: the todo is back, and focused.
    page.get_by_role("button", name="Undo").click()
    expect(row(page, name).get_by_role("button", name=f"Mark “{name}” done")).to_be_focused()
    expect(page.locator(ANNOUNCED)).to_have_text(f"Restored “{name}”.")
    expect(rows).to_have_count(30)
    assert page.evaluate(NOT_RELOADED)
    check_accessibility(page, f"the list after updates in place ({scheme})")

    # In the trash: Restore takes the row away, the next one's Restore has the focus.
    for title_ in (name, following):
        row(page, title_).get_by_role("button", name=f"Delete “{title_}”").click()
        expect(row(page, title_)).to_have_count(0)
    page.goto("/trash")
    page.evaluate("() => { window.keptSinceLoad = true; }")
    entries = page.locator(".todo-list > li.todo")
    first, second = (entries.nth(n).locator(".title").inner_text() for n in (0, 1))
    row(page, first).get_by_role("button", name=f"Restore “{first}”").click()
    expect(page.locator(ANNOUNCED)).to_have_text(f"Restored “{first}”.")
    expect(row(page, second).get_by_role("button", name=f"Restore “{second}”")).to_be_focused()
    expect(entries).to_have_count(1)
    assert page.evaluate(NOT_RELOADED)
    # The bar is set up again: "Select all", its buttons off until a tick.
    page.get_by_label("Select all").check()
    expect(page.get_by_role("button", name="Restore selected")).to_be_enabled()
    page.get_by_role("button", name="Restore selected").click()
    expect(page.get_by_text("Nothing in the trash.")).to_be_visible()
    assert page.evaluate(NOT_RELOADED)
    expect(page.locator(ANNOUNCED)).to_have_text("Restored: 1 todo.")
    check_accessibility(page, f"the trash after updates in place ({scheme})")


def test_without_javascript_a_tick_comes_back_to_its_row(new_page):
    page = new_page(java_script_enabled=False)
    register(page)
    add_numbered(page, 30)
    expect(page.get_by_label("Title")).to_be_focused()
    rows = page.locator(".todo-list > li.todo")
    twenty_fifth = rows.nth(24)
    name = twenty_fifth.locator(".title").inner_text()
    following = rows.nth(25).get_attribute("id")
    with page.expect_navigation():
        twenty_fifth.get_by_role("button", name=f"Mark “{name}” done").click()
    # Done, it went to the Completed section: back at the row that took its place.
    assert page.url.endswith(f"/todos#{following}")
    back = page.locator(f"#{following}")
    expect(back).to_be_in_viewport()
    expect(back).to_be_focused()
    expect(page.locator("details.completed summary")).to_have_text("Completed (1)")
    # Deleted: back at the next row.
    after = rows.nth(25).get_attribute("id")
    with page.expect_navigation():
        back.get_by_role("button", name=re.compile("^Delete ")).click()
    assert page.url.endswith(f"/todos#{after}")
    expect(page.locator(f"#{after}")).to_be_focused()
    expect(page.locator(f"#{after}")).to_be_in_viewport()


def test_without_javascript_the_only_row_on_today_comes_back_to_the_content(new_page):
    """Today shows open todos only: its only row, ticked or deleted, leaves
    no row to come back to. The page comes back at its content, not its
    top: a deletion's Undo is the next Tab, and it brings the row back."""
    page = new_page(java_script_enabled=False, viewport=MOBILE)
    register(page)
    today = datetime.now(ZoneInfo("UTC")).date().isoformat()  # without the script, UTC's date
    for title in ("water the plants", "pay rent"):
        page.get_by_label("Title").fill(title)
        page.get_by_label("Due date").fill(today)
        page.get_by_role("button", name="Add", exact=True).click()
    page.goto("/todos/today")
    following = row(page, "pay rent").get_attribute("id")
    with page.expect_navigation():
        row(page, "water the plants").get_by_role("button", name=re.compile("^Mark ")).click()
    assert page.url.endswith(f"/todos/today#{following}")  # a neighbour: as before
    with page.expect_navigation():
        row(page, "pay rent").get_by_role("button", name=re.compile("^Mark ")).click()
    assert page.url.endswith("/todos/today#main")
    expect(page.get_by_text("Nothing is due today.")).to_be_in_viewport()

    page.goto("/todos")
    page.get_by_label("Title").fill("call mum")
    page.get_by_label("Due date").fill(today)
    page.get_by_role("button", name="Add", exact=True).click()
    page.goto("/todos/today")
    with page.expect_navigation():
        row(page, "call mum").get_by_role("button", name="Delete “call mum”").click()
    assert page.url.endswith("/todos/today#main")
    page.keyboard.press("Tab")
    undo = page.get_by_role("button", name="Undo")
    expect(undo).to_be_focused()
    undo.press("Enter")
    expect(row(page, "call mum")).to_be_focused()


def test_the_edit_and_delete_shortcuts(page):
    register(page)
    for title in ("Keep me", "Edit me", "Delete me"):
        add(page, title)
    page.locator("body").click(position={"x": 5, "y": 5})  # out of the add field
    page.keyboard.press("j")  # "Delete me", the newest
    page.keyboard.press("#")
    expect(row(page, "Delete me")).to_have_count(0)
    expect(page.get_by_text("Moved “Delete me” to the trash.")).to_be_visible()
    # The focus is on the next row, which is the current one now.
    expect(row(page, "Edit me").get_by_role("button", name="Delete “Edit me”")).to_be_focused()
    expect(row(page, "Edit me")).to_have_class(re.compile("is-current"))
    page.keyboard.press("e")
    expect(page.get_by_role("heading", name="Edit todo")).to_be_visible()
    page.get_by_label("Title").fill("Edited by keys")
    page.get_by_role("button", name="Save").click()
    # Back on the list, at the row edited, with the focus on it.
    edited = row(page, "Edited by keys")
    expect(edited).to_be_focused()
    assert page.url.endswith("#" + edited.get_attribute("id"))
    page.keyboard.press("x")
    # Done, it went into the closed Completed section: the focus goes on to the next row.
    expect(row(page, "Keep me").get_by_role("button", name="Mark “Keep me” done")).to_be_focused()
    page.get_by_text("Completed (1)").click()
    expect(
        row(page, "Edited by keys").get_by_role("button", name="Mark “Edited by keys” not done")
    ).to_be_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", MOBILE)])
def test_a_ticked_todo_goes_to_the_completed_section_which_can_be_hidden(
    new_page, size, viewport, scheme
):
    page = new_page(bypass_csp=True, viewport=viewport, color_scheme=scheme)  # axe is a script
    name = register(page)
    for title in ("Buy stamps", "Post the letter"):
        add(page, title)
    row(page, "Buy stamps").get_by_role("button", name="Mark “Buy stamps” done").click()
    completed = page.locator("details.completed")
    expect(completed.locator("summary")).to_have_text("Completed (1)")
    expect(row(page, "Buy stamps")).to_be_hidden()  # collapsed until opened
    completed.locator("summary").click()
    stamps = row(page, "Buy stamps")
    expect(stamps.get_by_role("button", name="Mark “Buy stamps” not done")).to_be_visible()
    expect(row(page, "Post the letter")).to_be_visible()
    check_accessibility(page, f"completed section open ({size}, {scheme})")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"the open section scrolls sideways: {width}px"

    completed.get_by_role("button", name="Hide completed").click()
    expect(page.get_by_text("1 completed hidden")).to_be_visible()
    expect(row(page, "Buy stamps")).to_have_count(0)
    page.reload()
    expect(page.get_by_text("1 completed hidden")).to_be_visible()
    check_accessibility(page, f"completed hidden ({size}, {scheme})")
    # Another browser, another session: still hidden, kept on the account.
    other = new_page(viewport=viewport, color_scheme=scheme)
    log_in(other, name)
    expect(other.get_by_text("1 completed hidden")).to_be_visible()

    page.get_by_role("button", name="Show completed").click()
    completed.locator("summary").click()
    stamps.get_by_role("button", name="Mark “Buy stamps” not done").click()
    expect(page.locator("details.completed")).to_have_count(0)
    expect(
        row(page, "Buy stamps").get_by_role("button", name="Mark “Buy stamps” done")
    ).to_be_visible()


def test_on_a_phone_a_rows_when_and_buttons_share_a_line(new_page):
    """A phone shows more than four todos a screen: under the title, the
    row's "added …" and its buttons sit on one line when they fit."""
    page = new_page(viewport=MOBILE)
    register(page)
    add(page, "buy milk")
    added = row(page, "buy milk").locator(".meta").bounding_box()
    buttons = row(page, "buy milk").locator(".row-actions").bounding_box()
    assert (
        abs((added["y"] + added["height"] / 2) - (buttons["y"] + buttons["height"] / 2))
        < buttons["height"] / 2
    ), (added, buttons)
    title = row(page, "buy milk").locator(".title").bounding_box()
    assert buttons["y"] >= title["y"] + title["height"] - 1  # still under the title
