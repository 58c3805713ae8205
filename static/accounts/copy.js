// Copy buttons: <button type="button" class="copy-button" data-copy-target="ID">; copies the text of the
// element with that id (an <input readonly> or any element) and says so in the button's status region.
(function () {
  "use strict";

  function textOf(el) { return el.value !== undefined ? el.value : el.textContent.trim(); }

  function fallbackCopy(el) {
    // Older browsers or a page served without HTTPS: select the text and use the legacy command.
    if (el.select) { el.focus(); el.select(); }
    try { return document.execCommand("copy"); } catch (e) { return false; }
  }

  function announce(button, message) {
    var status = document.getElementById(button.dataset.copyStatus);
    if (status) { status.textContent = message; }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".copy-button");
    if (!button) { return; }
    var target = document.getElementById(button.dataset.copyTarget);
    if (!target) { return; }
    var text = textOf(target);
    var done = function () { announce(button, "Copied."); };
    var failed = function () { announce(button, fallbackCopy(target) ? "Copied." : "Select the text and copy it."); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, failed);
    } else {
      failed();
    }
  });
})();
