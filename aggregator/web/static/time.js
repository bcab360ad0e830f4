// Times are rendered in UTC on the server; this rewrites them into the reader's zone.
// Without it the page is complete: it only changes the text of <time> elements.
(function () {
  "use strict";
  var fine = { hour: true, minute: true, second: true };
  var fmt;
  try {
    fmt = new Intl.DateTimeFormat(undefined, {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
      timeZoneName: "short"
    });
  } catch (e) {
    return;
  }
  function local() {
    var nodes = document.querySelectorAll("time[datetime]");
    for (var i = 0; i < nodes.length; i++) {
      var t = nodes[i];
      if (!fine[t.getAttribute("data-precision")]) continue;
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d.getTime())) continue;
      t.setAttribute("title", t.textContent);
      t.textContent = fmt.format(d);
    }
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var names = document.querySelectorAll(".tzname");
    for (var j = 0; j < names.length; j++) names[j].textContent = "your time zone (" + zone + ")";
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", local);
  else local();
})();
