// passdrop console: while a batch's link emails are being sent, updates the batch
// page's counts every few seconds, and stops when sending ends (or after 20 minutes).
// First-party, no dependencies, no HTML written: only text and numbers. Without
// JavaScript the page's "Refresh" link does the same.
(function () {
  "use strict";
  var status = document.getElementById("send-progress");
  if (!status || !window.fetch) {
    return;
  }
  var url = status.getAttribute("data-url");
  var state = document.getElementById("send-state");
  var counts = document.getElementById("send-counts");
  var bar = document.getElementById("send-bar");
  var INTERVAL_MS = 3000;
  var MAX_POLLS = 400;
  var polls = 0;

  function show(p) {
    if (counts) {
      var text = p.sent + " emailed, " + p.queued + " queued, " + p.failed + " failed";
      if (p.unknown > 0) {
        text += ", " + p.unknown + " with an unknown outcome";
      }
      counts.textContent = text + ".";
    }
    if (bar) {
      bar.max = Math.max(p.total, 1);
      bar.value = p.done;
      bar.textContent = p.sent + " of " + p.total;
    }
    if (state && !p.sending) {
      state.textContent = "Sending has stopped.";
    }
  }

  function poll() {
    polls += 1;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("HTTP " + r.status);
        }
        return r.json();
      })
      .then(function (p) {
        show(p);
        if (p.sending && polls < MAX_POLLS) {
          window.setTimeout(poll, INTERVAL_MS);
        }
      })
      .catch(function () {
        // Logged out or the server is gone: the Refresh link still works.
      });
  }

  window.setTimeout(poll, INTERVAL_MS);
})();
