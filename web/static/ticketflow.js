/*
 * Ticketflow's htmx settings and the little glue live updates need. No framework, no build.
 *
 * Answers: 2xx swap as usual, 204 swaps nothing, 422 (refused, with reasons) and 409 (stale,
 * with a reload link) swap into the requesting form's .form-errors (or #page-errors), other
 * 4xx are shown in #page-errors, 5xx are never swapped (a fixed sentence is shown instead).
 *
 * Live: pages that show tickets connect to a server-sent event stream (sse-connect) and
 * re-read what they show on `sse:changed`. `ticketflow.polling()` is the filter of their
 * `every 5s` trigger: true only while the stream is not delivering (no EventSource, stream
 * broken, or the server said its Redis subscription is down), and never with ?poll=off.
 * When the stream (re)connects with the server's subscription up, `live-resync` is fired
 * on <body> so pages re-read whatever they missed meanwhile.
 */
(function () {
  "use strict";

  htmx.config.historyRestoreAsHxRequest = false; // a history restore asks for the whole page
  htmx.config.responseHandling = [
    { code: "^204$", swap: false },
    { code: "^[23]..$", swap: true },
    { code: "^(409|422)$", swap: true, error: false },
    { code: "^4..$", swap: false, error: true },
    { code: "^5..$", swap: false, error: true },
    { code: ".*", swap: false, error: true },
  ];

  var live = { supported: typeof EventSource !== "undefined", open: false, up: false };

  function pageErrors() {
    return document.getElementById("page-errors");
  }

  // 422 and 409: the reasons go next to the form that was sent, nothing else changes.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var status = evt.detail.xhr.status;
    if (status !== 409 && status !== 422) return;
    var elt = evt.detail.requestConfig && evt.detail.requestConfig.elt; // the form that was sent
    var slot = (elt && elt.querySelector && elt.querySelector(".form-errors")) || pageErrors();
    evt.detail.target = slot;
    evt.detail.swapOverride = "innerHTML";
  });

  // Other failures: a sentence in #page-errors; the page stays as it was.
  document.addEventListener("htmx:responseError", function (evt) {
    var slot = pageErrors();
    if (!slot) return;
    var status = evt.detail.xhr.status;
    if (status >= 400 && status < 500) {
      slot.innerHTML = evt.detail.xhr.responseText; // our own escaped error fragment
    } else {
      slot.textContent = "Something went wrong on our side. Nothing you sent was lost; " +
        "please try again in a moment.";
    }
  });

  document.addEventListener("htmx:sendError", function () {
    var slot = pageErrors();
    if (slot) slot.textContent = "The server cannot be reached. Check your connection; " +
      "the page will catch up once it is back.";
  });

  // A form sent successfully clears the old page-wide error message.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var slot = pageErrors();
    if (evt.detail.successful && evt.detail.elt.tagName === "FORM" && slot) slot.innerHTML = "";
  });

  // An element with data-url-from="<id>" asks, each time it sends, for the URL the element
  // <id> holds now (its data-url): the dashboard's refresh elements are never swapped (so a
  // refresh queued behind one in flight is not dropped with its element), while the address
  // they refresh, with the sort and filters chosen since, comes back with every answer.
  document.addEventListener("htmx:configRequest", function (evt) {
    var from = evt.detail.elt.getAttribute && evt.detail.elt.getAttribute("data-url-from");
    var source = from && document.getElementById(from);
    if (source && source.dataset.url) evt.detail.path = source.dataset.url;
  });

  // A live refresh keeps what the person ticked (say, dashboard rows for a bulk action): the
  // same checkbox, by name and value, is ticked in the new content. A row whose ticket changed
  // meanwhile carries a new value (its version) and comes back unticked, for a second look.
  document.addEventListener("htmx:oobBeforeSwap", function (evt) {
    var fresh = evt.detail.fragment.querySelectorAll("input[type=checkbox]");
    evt.detail.target.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
      fresh.forEach(function (candidate) {
        if (candidate.name === box.name && candidate.value === box.value) candidate.checked = true;
      });
    });
  });

  function resync() {
    htmx.trigger(document.body, "live-resync");
  }

  document.addEventListener("htmx:sseOpen", function (evt) {
    live.open = true;
    var source = evt.detail.source;
    source.addEventListener("status", function (message) {
      var wasUp = live.up;
      live.up = message.data === "up";
      if (live.up && !wasUp) resync();
    });
  });
  document.addEventListener("htmx:sseError", function () {
    live.open = false;
    live.up = false;
  });
  document.addEventListener("htmx:sseClose", function () {
    live.open = false;
    live.up = false;
  });

  // Presence: say goodbye when the page goes away instead of lingering until the TTL.
  window.addEventListener("pagehide", function () {
    var here = document.querySelector("[data-leave]");
    var token = document.querySelector('meta[name="csrf-token"]');
    if (!here || !token || !navigator.sendBeacon) return;
    var form = new FormData();
    form.append("csrf_token", token.content);
    navigator.sendBeacon(here.dataset.leave, form);
  });

  window.ticketflow = {
    live: live,
    polling: function () {
      if (document.body.dataset.poll === "off") return false;
      return !(live.supported && live.open && live.up);
    },
  };
})();
