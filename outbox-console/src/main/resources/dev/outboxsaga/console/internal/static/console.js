// Shows each <time datetime="..."> in the viewer's time zone (to the millisecond for class "ms"); the server's UTC
// text stays as the hover title.
(function () {
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  document.querySelectorAll("time[datetime]").forEach(function (element) {
    var date = new Date(element.getAttribute("datetime"));
    if (isNaN(date.getTime())) { return; }
    element.textContent = date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " "
      + pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds())
      + (element.classList.contains("ms") ? "." + String(date.getMilliseconds() + 1000).substring(1) : "");
  });
  var label = document.getElementById("zone");
  if (label && zone) { label.textContent = "times in " + zone + " (UTC on hover)"; }
})();
