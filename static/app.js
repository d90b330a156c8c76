// Progressive enhancement only: every form works without this file.
// A form, or the button that sends it, with data-confirm asks before it is
// sent (destructive actions). The button's question wins: one form may have
// a harmless button beside a destructive one (the trash's bulk form).
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question =
    (button && button.dataset && button.dataset.confirm) ||
    (event.target.dataset && event.target.dataset.confirm);
  if (question && !window.confirm(question)) {
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
for (const element of document.querySelectorAll("time[datetime][title]")) {
  const moment = new Date(element.dateTime);
  if (!Number.isNaN(moment.getTime())) {
    element.title = localTime.format(moment);
  }
}

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
// says when nothing was ticked.
const bulk = document.getElementById("bulk");
if (bulk) {
  const boxes = () =>
    [...bulk.elements].filter((el) => el.type === "checkbox" && el.id !== "select-all");
  const buttons = [...bulk.querySelectorAll("button[type=submit]")];
  const said = document.getElementById("bulk-ticked");
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
  bulk.insertBefore(wrap, said);
  const update = () => {
    const ticked = boxes().filter((box) => box.checked).length;
    const total = boxes().length;
    for (const button of buttons) {
      button.disabled = ticked === 0;
    }
    all.checked = total > 0 && ticked === total;
    all.indeterminate = ticked > 0 && ticked < total;
    said.textContent =
      ticked === 0 ? "Tick todos or lists to restore or delete them." : `With the ${ticked} ticked:`;
  };
  all.addEventListener("change", () => {
    for (const box of boxes()) {
      box.checked = all.checked;
    }
    update();
  });
  document.addEventListener("change", (event) => {
    if (event.target.form === bulk && event.target !== all) {
      update();
    }
  });
  window.addEventListener("pageshow", update); // boxes kept ticked by the back button
  update();
}

// Keyboard shortcuts, in the manner of Gmail and Todoist: "/" search, "q"
// (or "a") the add field, "j"/"k" the next/previous row, "x" tick it, "e"
// edit it, "#" delete it (the message that follows has Undo), "?" lists
// them. Off while typing in a field, and with Ctrl, Alt or Meta held.
const SHORTCUTS = [
  ["/", "Search"],
  ["q", "Add a todo (also a)"],
  ["j", "Next todo"],
  ["k", "Previous todo"],
  ["x", "Mark the todo done, or not done"],
  ["e", "Edit the todo"],
  ["#", "Delete the todo (Undo follows)"],
  ["?", "Show these shortcuts"],
];
let shortcutsDialog = null;
const showShortcuts = () => {
  if (!shortcutsDialog) {
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
  if (typingIn(event.target) || (shortcutsDialog && shortcutsDialog.open)) {
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
  } else if (key === "x" || key === "e" || key === "#") {
    const row = rowNow();
    const selector = { x: "button.check", e: "a[href*='/edit']", "#": "button.delete" }[key];
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
