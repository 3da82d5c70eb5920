// Every letter asks <BASE_URL>/start and shows the answer (the original
// only logged it to the console). BASE_URL comes from the server at run
// time; empty means this page's own origin.
"use strict";
(function () {
  var meta = document.querySelector('meta[name="pingpong-base-url"]');
  var base = (meta && meta.content) || "";
  var statusEl = document.getElementById("status");
  var listEl = document.getElementById("answers");
  var buttons = document.querySelectorAll("button");

  function setBusy(busy) {
    buttons.forEach(function (b) { b.disabled = busy; });
  }

  function show(items) {
    listEl.textContent = "";
    items.forEach(function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      listEl.appendChild(li);
    });
  }

  function fail(message) {
    show([]);
    statusEl.className = "status error";
    statusEl.textContent = message;
  }

  async function start() {
    var url = base + "/start";
    setBusy(true);
    statusEl.className = "status";
    statusEl.textContent = "Calling " + url + " ...";
    try {
      var res = await fetch(url, { headers: { Accept: "application/json" } });
      var text = await res.text();
      var body;
      try { body = JSON.parse(text); } catch (e) { body = null; }
      if (!res.ok) {
        var detail = body && body.error ? body.error : text.trim() || res.statusText;
        fail("GET " + url + " failed: HTTP " + res.status + " - " + detail);
        return;
      }
      if (!Array.isArray(body)) {
        fail("GET " + url + " answered something that is not a list: " + text.slice(0, 200));
        return;
      }
      statusEl.textContent = "GET " + url + " answered:";
      show(body.map(String));
      console.log(body);
    } catch (e) {
      fail("Cannot reach " + url + ": " + e.message);
    } finally {
      setBusy(false);
    }
  }

  buttons.forEach(function (b) { b.addEventListener("click", start); });
})();
