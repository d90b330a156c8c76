// Progressive enhancement only: every form works without this file.
// A form with data-confirm asks before it is sent (destructive actions).
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset ? form.dataset.confirm : null;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
