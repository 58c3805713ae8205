// Offers the browser's own time zone on the settings page, so nobody has to look it up in the long list.
document.addEventListener("DOMContentLoaded", function () {
  var hint = document.querySelector("[data-browser-zone]");
  var select = document.getElementById("id_time_zone");
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!hint || !select || !zone || !select.querySelector('option[value="' + zone + '"]')) return;
  hint.querySelector("strong").textContent = zone;
  hint.hidden = false;
  hint.querySelector("button").addEventListener("click", function () { select.value = zone; });
});
