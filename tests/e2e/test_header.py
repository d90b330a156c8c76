"""The site header on a phone: one line (the brand, the search, and a "Menu"
that holds the nav and Log out), for a user and for an admin with the
longest name, light and dark, with JavaScript and without. On a desktop the
links stay in sight, as before."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from todoapp.models import USERNAME_MAX

from .conftest import DESKTOP, check_accessibility
from .test_browser import log_in, register

PHONE = {"width": 390, "height": 844}
TOUCH = 44  # the smallest target a finger presses (WCAG 2.5.5), in CSS pixels


def header_items(page):
    """The boxes of what the header shows: its children and their controls."""
    header = page.locator(".site-header")
    items = header.locator("> *, .search-box > input, .search-box > button, summary")
    boxes = [items.nth(i).bounding_box() for i in range(items.count())]
    return header.bounding_box(), [box for box in boxes if box and box["height"] > 0]


def assert_one_line(page, label):
    header, boxes = header_items(page)
    # On one line every item starts above where every other one ends; a
    # second line would also make the header twice as tall as its tallest item.
    assert max(b["y"] for b in boxes) < min(b["y"] + b["height"] for b in boxes), label
    assert header["height"] < 2 * max(b["height"] for b in boxes), (label, header["height"])


def make_admin(admin_page, name):
    log_in(admin_page, "root")
    admin_page.goto("/admin/users")
    admin_page.get_by_role("button", name=f"Make admin: {name}").click()
    expect(admin_page.get_by_text(f"{name} is now an administrator")).to_be_visible()


@pytest.mark.parametrize(
    ("who", "scheme", "javascript"),
    [
        ("user", "light", True),
        ("admin", "dark", True),
        ("user", "dark", False),
        ("admin", "light", False),
    ],
    ids=["user-light", "admin-dark", "user-dark-nojs", "admin-light-nojs"],
)
def test_on_a_phone_the_header_is_one_line_with_a_menu(new_page, who, scheme, javascript):
    page = new_page(
        viewport=PHONE, color_scheme=scheme, java_script_enabled=javascript, bypass_csp=True
    )
    missing = []  # the magnifier, or anything else the page asks for and does not get
    page.on("response", lambda response: response.status >= 400 and missing.append(response.url))
    name = None
    if who == "admin":  # more links, and the longest name there is, first on the users page
        name = ("aa" + uuid.uuid4().hex * 2)[:USERNAME_MAX]
    name = register(page, name)
    if who == "admin":
        make_admin(new_page(), name)
    page.goto("/todos/today")
    label = f"{who}, {scheme}, {'with' if javascript else 'without'} JavaScript"

    nav = page.get_by_role("navigation", name="Main")
    menu = nav.get_by_text("Menu", exact=True)
    links = ["Todos", "Today", "Overdue", "Lists", "Trash", "Account"]
    if who == "admin":
        links[5:5] = ["Admin trash", "Users", "Activity"]
    log_out = nav.get_by_role("button", name=f"Log out ({name})")
    for link in links:
        expect(nav.get_by_role("link", name=link, exact=True)).to_be_hidden()
    expect(log_out).to_be_hidden()
    assert_one_line(page, label)
    for target in (menu, page.get_by_role("button", name="Search", exact=True)):
        box = target.bounding_box()
        assert box["height"] >= TOUCH and box["width"] >= TOUCH, (label, box)
    if javascript:
        check_accessibility(page, f"the phone header ({label})")

    # The menu opens by its label, over the page: the header stays one line.
    menu.click()
    for link in links:
        expect(nav.get_by_role("link", name=link, exact=True)).to_be_visible()
    expect(log_out).to_be_visible()
    expect(nav.get_by_role("link", name="Today")).to_have_attribute("aria-current", "page")
    for target in [nav.get_by_role("link", name=link, exact=True) for link in links] + [log_out]:
        assert target.bounding_box()["height"] >= TOUCH, label
    assert_one_line(page, label)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], label
    if javascript:
        check_accessibility(page, f"the phone menu open ({label})")
        page.keyboard.press("Escape")  # closes, as a menu does
        expect(log_out).to_be_hidden()
        menu.click()

    # Its links work; the next page starts with the menu closed.
    destination = "Users" if who == "admin" else "Trash"
    nav.get_by_role("link", name=destination, exact=True).click()
    expect(page.get_by_role("heading", name=destination, exact=True)).to_be_visible()
    expect(log_out).to_be_hidden()
    menu.click()
    expect(nav.get_by_role("link", name=destination, exact=True)).to_have_attribute(
        "aria-current", "page"
    )

    # The search, an icon on a phone, still searches.
    page.get_by_role("searchbox").fill("milk")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name="Search", exact=True)).to_be_visible()
    assert_one_line(page, label)

    menu.click()
    log_out.click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    assert_one_line(page, f"logged out, {label}")
    expect(nav.get_by_role("link", name="Log in")).to_be_visible()
    assert missing == [], label


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_on_a_desktop_the_nav_stays_in_sight(new_page, scheme):
    page = new_page(viewport=DESKTOP, color_scheme=scheme)
    name = register(page)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_text("Menu", exact=True)).to_be_hidden()
    expect(page.get_by_role("button", name="Search", exact=True)).to_have_text("Search")
    nav.get_by_role("link", name="Overdue").click()
    expect(page.get_by_role("heading", name="Overdue")).to_be_visible()
    nav.get_by_role("button", name=re.compile(re.escape(f"({name})"))).click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()
