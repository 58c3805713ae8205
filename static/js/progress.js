// Keeps every job progress box on the page up to date by polling its status URL until the job ends.
(function () {
  "use strict";
  var POLL_MS = 1000;

  function render(box, status) {
    box.dataset.state = status.state;
    var bar = box.querySelector("progress");
    if (status.percent === null) { bar.removeAttribute("value"); } else { bar.value = status.percent; }
    box.querySelectorAll("[data-field]").forEach(function (el) {
      var value = status[el.dataset.field];
      el.textContent = value || "";
      if (el.dataset.field === "error") { el.hidden = !value; }
    });
    var badge = box.querySelector(".badge");
    if (badge) { badge.className = "badge state-" + status.state; }
  }

  function poll(box) {
    fetch(box.dataset.statusUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { return; }
        render(box, status);
        if (status.finished) {
          box.dispatchEvent(new CustomEvent("job:finished", { bubbles: true, detail: status }));
          // The page around the box shows the object the job changed: show it as it is now.
          if (box.dataset.reload !== "off") { setTimeout(function () { window.location.reload(); }, 600); }
        } else {
          setTimeout(function () { poll(box); }, POLL_MS);
        }
      })
      .catch(function () { setTimeout(function () { poll(box); }, POLL_MS * 3); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".job-progress").forEach(function (box) {
      if (box.dataset.state !== "succeeded" && box.dataset.state !== "failed") { poll(box); }
    });
  });
})();
