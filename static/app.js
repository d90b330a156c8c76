// Progressive enhancement only: every form works without this file.
// A form, or the button that sends it, with data-confirm asks before it is
// sent (destructive actions). The button's question wins: one form may have
// a harmless button beside a destructive one (the trash's bulk form).
// A form sent again as usual after an update in place failed (see below)
// was asked already.
const sentAsUsual = new WeakSet();
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question =
    (button && button.dataset && button.dataset.confirm) ||
    (event.target.dataset && event.target.dataset.confirm);
  if (question && !sentAsUsual.has(event.target) && !window.confirm(question)) {
    event.preventDefault();
  }
});

// Exact times come from the server in UTC ("2026-11-24 10:00 UTC", the
// tooltip of each <time>): shown here in the reader's own time zone instead.
// Without this script the UTC text stays, and says that it is UTC.
const localTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZoneName: "short",
});
const showLocalTimes = () => {
  for (const element of document.querySelectorAll("time[datetime][title]")) {
    const moment = new Date(element.dateTime);
    if (!Number.isNaN(moment.getTime())) {
      element.title = localTime.format(moment);
    }
  }
};

// The reader's time zone, for "Today", "Overdue" and due dates: the server
// works out the reader's date in it (services/due.py). Kept in a cookie, so
// the next page uses it; without this script the server uses UTC.
try {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && /^[A-Za-z0-9_+\/-]{1,64}$/.test(zone) && !document.cookie.split("; ").includes(`tz=${zone}`)) {
    const secure = window.location.protocol === "https:" ? "; secure" : "";
    document.cookie = `tz=${zone}; path=/; max-age=31536000; samesite=lax${secure}`;
  }
} catch (error) {
  // No Intl time zone: the server keeps using UTC.
}

// The trash's bulk form: a "Select all" box, and its buttons off while
// nothing is ticked. Without this script the buttons stay on, and the server
// says when nothing was ticked. Set up again after an update in place.
const bulkBoxes = (bulk) =>
  [...bulk.elements].filter((el) => el.type === "checkbox" && el.id !== "select-all");
const updateBulk = () => {
  const bulk = document.getElementById("bulk");
  const all = document.getElementById("select-all");
  if (!bulk || !all) {
    return;
  }
  const ticked = bulkBoxes(bulk).filter((box) => box.checked).length;
  const total = bulkBoxes(bulk).length;
  for (const button of bulk.querySelectorAll("button[type=submit]")) {
    button.disabled = ticked === 0;
  }
  all.checked = total > 0 && ticked === total;
  all.indeterminate = ticked > 0 && ticked < total;
  document.getElementById("bulk-ticked").textContent =
    ticked === 0 ? "Tick todos or lists to restore or delete them." : `With the ${ticked} ticked:`;
};
const setUpBulk = () => {
  const bulk = document.getElementById("bulk");
  if (!bulk || document.getElementById("select-all")) {
    return;
  }
  const all = document.createElement("input");
  all.type = "checkbox";
  all.id = "select-all";
  all.className = "select";
  const label = document.createElement("label");
  label.htmlFor = all.id;
  label.textContent = "Select all";
  const wrap = document.createElement("span");
  wrap.className = "select-all";
  wrap.append(all, label);
  bulk.insertBefore(wrap, document.getElementById("bulk-ticked"));
  all.addEventListener("change", () => {
    for (const box of bulkBoxes(bulk)) {
      box.checked = all.checked;
    }
    updateBulk();
  });
  updateBulk();
};
document.addEventListener("change", (event) => {
  const bulk = document.getElementById("bulk");
  if (bulk && event.target.form === bulk && event.target.id !== "select-all") {
    updateBulk();
  }
});
window.addEventListener("pageshow", updateBulk); // boxes kept ticked by the back button

// What a page's content needs from this script: on load, and again after
// an update in place replaced it.
const setUp = () => {
  showLocalTimes();
  setUpBulk();
  markEditableTitles(); // defined below, called once the script has run
};

// Keyboard shortcuts, in the manner of Gmail and Todoist: "/" search, "q"
// (or "a") the add field, "j"/"k" the next/previous row, "x" tick it, "e"
// edit it, "v" move it to another list, "#" delete it (the message that
// follows has Undo), "?" lists them. Off while typing in a field, and with Ctrl, Alt or Meta held.
const SHORTCUTS = [
  ["/", "Search"],
  ["q", "Add a todo (also a)"],
  ["j", "Next todo"],
  ["k", "Previous todo"],
  ["x", "Mark the todo done, or not done"],
  ["e", "Edit the todo"],
  ["v", "Move the todo to another list"],
  ["#", "Delete the todo (Undo follows)"],
  ["?", "Show these shortcuts"],
];
let shortcutsDialog = null;
const showShortcuts = () => {
  if (!shortcutsDialog || !shortcutsDialog.isConnected) {
    shortcutsDialog = document.createElement("dialog");
    shortcutsDialog.className = "shortcuts";
    shortcutsDialog.setAttribute("aria-labelledby", "shortcuts-heading");
    const heading = document.createElement("h2");
    heading.id = "shortcuts-heading";
    heading.textContent = "Keyboard shortcuts";
    const list = document.createElement("dl");
    for (const [key, what] of SHORTCUTS) {
      const term = document.createElement("dt");
      const kbd = document.createElement("kbd");
      kbd.textContent = key;
      term.append(kbd);
      const description = document.createElement("dd");
      description.textContent = what;
      list.append(term, description);
    }
    const note = document.createElement("p");
    note.className = "muted";
    note.textContent = "They do nothing while you type in a field.";
    const close = document.createElement("button");
    close.type = "button";
    close.textContent = "Close";
    close.addEventListener("click", () => shortcutsDialog.close());
    shortcutsDialog.append(heading, list, note, close);
    document.body.append(shortcutsDialog);
  }
  if (!shortcutsDialog.open) {
    shortcutsDialog.showModal();
  }
};
const typingIn = (element) =>
  element &&
  (element.isContentEditable ||
    ["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName));
// Rows in a closed Completed section are out of sight: the keys skip them.
const todoRows = () =>
  [...document.querySelectorAll(".todo-list > li.todo")].filter(
    (row) => !row.closest("details:not([open])"),
  );
let currentRow = null;
const rowNow = () => {
  const focused = document.activeElement && document.activeElement.closest("li.todo");
  if (focused && todoRows().includes(focused)) {
    return focused;
  }
  return currentRow && currentRow.isConnected ? currentRow : null;
};
const moveTo = (row) => {
  if (currentRow) {
    currentRow.classList.remove("is-current");
  }
  currentRow = row;
  row.classList.add("is-current");
  const first = row.querySelector("button, a[href]");
  if (first) {
    first.focus({ preventScroll: true });
  }
  row.scrollIntoView({ block: "nearest" });
};
document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey || event.isComposing) {
    return;
  }
  if (typingIn(event.target) || (shortcutsDialog && shortcutsDialog.open) || moveDialog.open) {
    return;
  }
  const key = event.key;
  let done = true;
  if (key === "/") {
    const search = document.getElementById("search-q");
    if (search) {
      search.focus();
      search.select();
    } else {
      done = false;
    }
  } else if (key === "q" || key === "a") {
    const field = document.querySelector(".add-form input:not([type=hidden])");
    if (field) {
      field.focus();
    } else {
      done = false;
    }
  } else if (key === "j" || key === "k") {
    const rows = todoRows();
    const at = rows.indexOf(rowNow());
    if (rows.length === 0) {
      done = false;
    } else if (at === -1) {
      moveTo(rows[0]);
    } else {
      moveTo(rows[Math.max(0, Math.min(rows.length - 1, at + (key === "j" ? 1 : -1)))]);
    }
  } else if (key === "x" || key === "e" || key === "v" || key === "#") {
    const row = rowNow();
    const selector = { x: "button.check", e: "a[href*='/edit']", v: "a[href*='/move?']", "#": "button.delete" }[
      key
    ];
    const target = row && row.querySelector(selector);
    if (target) {
      target.click();
    } else {
      done = false;
    }
  } else if (key === "?") {
    showShortcuts();
  } else {
    done = false;
  }
  if (done) {
    event.preventDefault();
  }
});

// Keep my place: a row's buttons, the add form, the trash's bulk bar and the
// flash's Undo send their form with fetch, and the page the server answers
// with replaces this one's <main> in place: the scroll stays, the focus goes
// back to the row (or the one that took its place, or the add field after
// an add), and the message is read out. Any failure sends the form again as
// usual; without this script the server's redirect names the row instead.
const announcer = document.createElement("div");
announcer.className = "visually-hidden";
announcer.setAttribute("role", "status");
document.body.append(announcer);
const announce = (words) => {
  announcer.textContent = "";
  if (words) {
    // Emptied first and filled a moment later: the same words twice are read twice.
    window.setTimeout(() => {
      announcer.textContent = words;
    }, 100);
  }
};
const ROWS = "main li.todo[id], main tr[id]";
// Read as attributes: a form's property such as "action" is its field of
// that name if it has one (the bulk bar's buttons are named "action").
const updatedInPlace = (form) =>
  (form.getAttribute("method") || "").toLowerCase() === "post" &&
  (form.getAttribute("id") === "rows" ||
    form.getAttribute("id") === "bulk" ||
    form.classList.contains("add-form") ||
    Boolean(form.closest(".flashes, dialog.move-dialog")));
// Where the focus goes after the update: the rows to look for in order (the
// row itself, the one its button named, then the rows after it and before
// it), and which of a row's controls ("toggle", "delete", "restore": the end
// of the button's URL).
const placeOf = (form, button, action) => {
  const opener = form.closest("dialog.move-dialog") && moveOpener;
  const row = (button && button.closest("li[id], tr[id]")) || (opener && opener.closest("li[id]"));
  const rows = [...document.querySelectorAll(ROWS)];
  const at = rows.indexOf(row);
  const ids = [];
  if (row) {
    ids.push(row.id);
  }
  if (button && button.name === "then" && button.value) {
    ids.push(button.value);
  }
  if (at !== -1) {
    ids.push(...rows.slice(at + 1).map((el) => el.id), ...rows.slice(0, at).reverse().map((el) => el.id));
  }
  return {
    ids,
    control: new URL(action, window.location.href).pathname.split("/").pop(),
    adding: form.classList.contains("add-form"),
    bulk: form.getAttribute("id") === "bulk",
    top: row ? row.getBoundingClientRect().top : null,
    current: Boolean(row && row.classList.contains("is-current")),
    title: row && row.querySelector(".title") ? row.querySelector(".title").textContent.trim() : "",
    wasDone: Boolean(row && row.classList.contains("is-done")),
  };
};
const focusAfter = (place) => {
  const main = document.querySelector("main");
  if (place.adding) {
    const field = main.querySelector(".add-form [aria-invalid=true], .add-form input:not([type=hidden])");
    return field && { target: field };
  }
  if (place.bulk) {
    const all = document.getElementById("select-all");
    return all && { target: all };
  }
  for (const id of place.ids) {
    const row = document.getElementById(id);
    // A row (not the page's content, which a page's only row names: web.CONTENT);
    // one now inside a closed section (a todo ticked into Completed) is gone from view.
    if (row && row.matches(ROWS) && !row.closest("details:not([open])")) {
      const target =
        row.querySelector(`[formaction$="/${place.control}"]:not(:disabled), a[href*="/${place.control}?"]`) ||
        row.querySelector("button:not(:disabled), a[href], input") ||
        row;
      return { target, row };
    }
  }
  return null;
};
const fallbackFocus = () => {
  const main = document.querySelector("main");
  const field = main.querySelector(".add-form input:not([type=hidden])");
  if (field) {
    return field;
  }
  const heading = main.querySelector("h1") || main;
  heading.tabIndex = -1;
  return heading;
};
const said = (place) => {
  const messages = [...document.querySelectorAll("main .flashes .alert")].map((alert) =>
    (alert.querySelector("span") || alert).textContent.trim(),
  );
  if (messages.length === 0 && place.control === "toggle" && place.title) {
    // The row ticked, which may have gone to the other section.
    messages.push(`${place.title}: ${place.wasDone ? "not done" : "done"}.`);
  }
  return messages.join(" ");
};
const swapIn = (page, url) => {
  const main = document.querySelector("main");
  const incoming = page.querySelector("main");
  const sameAddress = url.pathname === window.location.pathname && url.search === window.location.search;
  if (!sameAddress) {
    const header = document.querySelector(".site-header");
    const newHeader = page.querySelector(".site-header");
    if (header && newHeader) {
      header.replaceWith(newHeader);
    }
    window.history.replaceState(null, "", url.pathname + url.search);
  }
  // The lists panel's counts change with the page (a tick, a move).
  const panel = document.querySelector(".lists-panel");
  const newPanel = page.querySelector(".lists-panel");
  if (panel && newPanel) {
    const [was, now] = [panel.querySelector("details"), newPanel.querySelector("details")];
    if (was && now) {
      now.open = was.open;
    }
    panel.replaceWith(newPanel);
  }
  // A section the reader opened (Completed) stays open.
  for (const section of main.querySelectorAll("details[open][class]")) {
    const same = incoming.querySelector(`details.${CSS.escape(section.classList[0])}`);
    if (same) {
      same.open = true;
    }
  }
  main.className = incoming.className;
  main.replaceChildren(...incoming.childNodes);
  document.title = page.title;
  // The new messages are read out by the announcer, not twice.
  const flashes = main.querySelector(".flashes");
  if (flashes) {
    flashes.setAttribute("aria-live", "off");
  }
  setUp();
};
let updates = Promise.resolve();
const update = async (form, button, action, body) => {
  const place = placeOf(form, button, action);
  const scrolled = window.scrollY;
  const resend = () => {
    sentAsUsual.add(form);
    if (button && button.isConnected) {
      form.requestSubmit(button);
    } else if (form.isConnected) {
      form.requestSubmit();
    }
  };
  let response;
  let text;
  try {
    response = await fetch(action, {
      method: "POST",
      body,
      credentials: "same-origin",
      redirect: "follow",
      headers: { Accept: "text/html" },
    });
    text = await response.text();
  } catch (error) {
    resend();
    return;
  }
  const html = (response.headers.get("Content-Type") || "").startsWith("text/html");
  // 422: the add form's errors, which the page shows; anything else sent as usual.
  if (!(response.ok || response.status === 422) || !html) {
    resend();
    return;
  }
  const page = new DOMParser().parseFromString(text, "text/html");
  if (!page.querySelector("main")) {
    window.location.assign(response.url);
    return;
  }
  // What is being typed in the add form meanwhile stays, and so does the focus in it.
  const fields = "main .add-form input:not([type=hidden])";
  const typed = place.adding
    ? []
    : [...document.querySelectorAll(fields)].filter((f) => f.value).map((f) => [f.name, f.value]);
  const typingName = !place.adding && document.activeElement && document.activeElement.matches(fields)
    ? document.activeElement.name
    : null;
  swapIn(page, new URL(response.url));
  for (const [name, value] of typed) {
    const field = document.querySelector(`main .add-form [name="${CSS.escape(name)}"]`);
    if (field && !field.value) {
      field.value = value;
    }
  }
  window.scrollTo(0, scrolled);
  const found = focusAfter(place);
  const stillTyping = typingName && document.querySelector(`main .add-form [name="${CSS.escape(typingName)}"]`);
  const target = stillTyping || (found ? found.target : fallbackFocus());
  if (!stillTyping && found && found.row && place.top !== null) {
    // The row stays where it was on the screen, whatever changed above it.
    window.scrollBy(0, found.row.getBoundingClientRect().top - place.top);
  }
  target.focus({ preventScroll: true });
  target.scrollIntoView({ block: "nearest" });
  if (found && found.row && place.current && found.row.matches("li.todo")) {
    // The shortcuts' current row follows, without moving the focus again.
    currentRow = found.row;
    currentRow.classList.add("is-current");
  }
  announce(said(place));
};
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (event.defaultPrevented || sentAsUsual.has(form) || !updatedInPlace(form)) {
    return;
  }
  event.preventDefault();
  const button = event.submitter;
  const action =
    button && button.hasAttribute("formaction")
      ? button.formAction
      : new URL(form.getAttribute("action") || "", window.location.href).href;
  const body = new URLSearchParams(new FormData(form));
  if (button && button.name) {
    body.append(button.name, button.value);
  }
  // One at a time, in the order pressed: each answer is the page after it.
  updates = updates.then(() => update(form, button, action, body));
});

// Move to…: a row's Move link opens the move page's choices in a dialog
// over the list, and the list chosen updates the page in place (above).
// Escape or Cancel closes it, and the focus goes back to the link. With a
// modifier key, or when the page cannot be fetched, the link opens the page,
// as it does without this script.
const moveDialog = document.createElement("dialog");
moveDialog.className = "move-dialog";
moveDialog.setAttribute("aria-labelledby", "move-dialog-heading");
document.body.append(moveDialog);
let moveOpener = null;
const openMove = async (link) => {
  let card = null;
  try {
    const response = await fetch(link.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (response.ok) {
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      card = page.querySelector("main .card");
    }
  } catch (error) {
    card = null;
  }
  const form = card && card.querySelector("form.move-form");
  if (!form) {
    window.location.assign(link.href);
    return;
  }
  // In a dialog the page's heading is the dialog's: a level below the page's own.
  const title = card.querySelector("h1");
  const heading = document.createElement("h2");
  heading.id = "move-dialog-heading";
  heading.textContent = title ? title.textContent : "Move to…";
  if (title) {
    title.remove();
  }
  // The form posts to the move page's address, where it came from.
  const url = new URL(link.href);
  form.setAttribute("action", url.pathname + url.search);
  moveDialog.replaceChildren(heading, ...card.childNodes);
  moveOpener = link;
  moveDialog.showModal();
  const first = moveDialog.querySelector(".move-choices button");
  if (first) {
    first.focus();
  }
};
document.addEventListener("click", (event) => {
  const link = event.target.closest("main .row-actions a[href*='/move?']");
  if (link && event.button === 0 && !(event.ctrlKey || event.metaKey || event.shiftKey || event.altKey)) {
    event.preventDefault();
    openMove(link);
    return;
  }
  const cancel = event.target.closest("dialog.move-dialog .actions a");
  if (cancel) {
    event.preventDefault();
    moveDialog.close();
  }
});
moveDialog.addEventListener("submit", () => moveDialog.close());
moveDialog.addEventListener("close", () => {
  // After a move the update in place puts the focus where it belongs.
  if (moveOpener && moveOpener.isConnected && !moveDialog.contains(document.activeElement)) {
    moveOpener.focus();
  }
});

// Click a todo's title to edit it in place. Enter, or leaving the field,
// saves through the edit page's own POST (only the title is sent, so the due
// date and the list stay); Escape, or an empty or unchanged title, puts the
// title back. A title the server refuses keeps the field open with its
// reason, until Enter saves a better one or Escape gives up. Without this script the title is text, and the row's Edit link
// does the same. Self-contained: it needs only the rows' markup.
const markEditableTitles = () => {
  if (document.querySelector("#rows input[name=csrf_token]")) {
    for (const list of document.querySelectorAll(".todo-list")) {
      list.classList.add("titles-editable");
    }
  }
};
const setUpTitleEditing = () => {
  const editLink = (row) => row.querySelector(".row-actions a[href*='/edit']");
  const saved = (html, path) => {
    // The page the save returns to holds the row: its title as the server cleaned it.
    const page = new DOMParser().parseFromString(html, "text/html");
    const link = [...page.querySelectorAll(".row-actions a[href*='/edit']")].find(
      (a) => new URL(a.href, window.location.href).pathname === path,
    );
    const title = link && link.closest("li.todo").querySelector(".title");
    return title ? title.textContent : null;
  };
  const open = (title, link) => {
    const before = title.textContent;
    const path = new URL(link.href, window.location.href).pathname;
    const input = document.createElement("input");
    input.type = "text";
    input.className = "title-input";
    input.value = before;
    input.dir = "auto";
    input.required = true;
    input.setAttribute("aria-label", "Edit title");
    const problem = document.createElement("span");
    problem.className = "error";
    problem.setAttribute("role", "alert");
    title.replaceChildren(input);
    input.focus();
    input.select();
    let busy = false;
    let refused = false;
    const close = (text) => {
      busy = true; // the blur that removing the field causes saves nothing
      title.replaceChildren(text);
    };
    const save = async () => {
      const value = input.value.trim();
      if (busy) {
        return;
      }
      if (value === "" || value === before) {
        close(before);
        return;
      }
      busy = true;
      const token = document.querySelector("#rows input[name=csrf_token]");
      const body = new FormData();
      body.append("csrf_token", token ? token.value : "");
      body.append("title", value);
      body.append("next", window.location.pathname + window.location.search);
      let response;
      try {
        response = await fetch(path, { method: "POST", body, credentials: "same-origin" });
      } catch (error) {
        response = null;
      }
      const html = response ? await response.text() : "";
      if (response && response.ok) {
        close(saved(html, path) || value);
      } else if (response && response.status === 422) {
        const page = new DOMParser().parseFromString(html, "text/html");
        const reason = page.querySelector(".field .error");
        problem.textContent = reason ? reason.textContent : "Not saved.";
        input.setAttribute("aria-invalid", "true");
        title.append(problem);
        busy = false;
        refused = true;
      } else {
        window.location.reload(); // gone meanwhile, or offline: the page says what is so
      }
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        save();
      } else if (event.key === "Escape") {
        event.preventDefault();
        close(before);
      }
    });
    // Leaving a field the server refused keeps it open with its reason.
    input.addEventListener("blur", () => refused || save());
  };
  document.addEventListener("click", (event) => {
    const title = event.target.closest(".titles-editable > li.todo > .title");
    if (!title || title.querySelector("input") || String(window.getSelection())) {
      return; // already open, or text being selected
    }
    const link = editLink(title.closest("li.todo"));
    if (link) {
      open(title, link);
    }
  });
};
setUpTitleEditing();

// The header's Menu (a disclosure on phones) closes as menus do: on Escape,
// the focus back on its summary if it was inside, and on a click outside it.
const openMenu = () => document.querySelector(".site-header details.menu[open]");
document.addEventListener("keydown", (event) => {
  const menu = openMenu();
  const dialogOpen = shortcutsDialog && shortcutsDialog.open;
  if (event.key !== "Escape" || event.defaultPrevented || !menu || dialogOpen) {
    return;
  }
  const inside = menu.contains(document.activeElement);
  menu.open = false;
  if (inside) {
    menu.querySelector("summary").focus();
  }
});
document.addEventListener("click", (event) => {
  const menu = openMenu();
  if (menu && !menu.contains(event.target)) {
    menu.open = false;
  }
});
setUp();
