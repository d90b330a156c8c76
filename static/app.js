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
