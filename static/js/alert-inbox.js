/*
 * The admin's alert badge and inbox: new alerts appear without a reload.
 *
 * Every data-poll-seconds the script asks the feed (data-feed-url, behind the admin login) for
 * the unacknowledged count, and on the inbox page for the alerts newer than the newest one shown.
 * New rows are copies of <template id="alert-row-template"> filled with textContent only, so no
 * alert text is ever read as HTML. Errors (offline, signed out) are ignored: the next poll retries.
 */
(function () {
  "use strict";

  var badge = document.getElementById("alert-badge");
  if (!badge || !window.fetch) {
    return;
  }
  var feedUrl = badge.getAttribute("data-feed-url");
  var seconds = parseInt(badge.getAttribute("data-poll-seconds"), 10) || 15;
  var rows = document.getElementById("alert-rows");
  var template = document.getElementById("alert-row-template");
  var lastId = rows ? parseInt(rows.getAttribute("data-last-id"), 10) || 0 : null;
  var busy = false;

  function showCount(count) {
    badge.textContent = count > 0 ? String(count) : "";
    badge.hidden = !(count > 0);
    var total = document.getElementById("alert-count");
    if (total) {
      total.textContent = String(count);
    }
  }

  function fill(row, alert) {
    row.setAttribute("data-alert-id", String(alert.id));
    row.classList.add("alert-row-new");
    row.querySelectorAll("[data-field]").forEach(function (cell) {
      var value = alert[cell.getAttribute("data-field")];
      cell.textContent = value === undefined || value === null ? "" : String(value);
    });
    row.querySelectorAll("[data-link]").forEach(function (link) {
      var name = link.getAttribute("data-link");
      var url = alert[name + "_url"];
      link.hidden = !url;
      if (url) {
        link.setAttribute("href", url);
        if (name !== "target") {
          link.textContent = String(alert[name]);
        }
      }
    });
    var form = row.querySelector("form");
    if (form) {
      form.setAttribute("action", alert.acknowledge_url);
    }
  }

  function prepend(alerts) {
    var empty = document.getElementById("alert-empty");
    // The feed sends newest first; prepending oldest first leaves the newest on top.
    for (var i = alerts.length - 1; i >= 0; i--) {
      var alert = alerts[i];
      if (rows.querySelector('[data-alert-id="' + alert.id + '"]')) {
        continue;
      }
      var row = template.content.firstElementChild.cloneNode(true);
      fill(row, alert);
      rows.insertBefore(row, rows.firstChild);
      if (empty) {
        empty.remove();
        empty = null;
      }
    }
  }

  function poll() {
    if (busy) {
      return;
    }
    busy = true;
    var url = feedUrl + (lastId === null ? "" : "?after=" + lastId);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        return response.ok && type.indexOf("application/json") === 0 ? response.json() : null;
      })
      .then(function (data) {
        if (!data) {
          return;
        }
        showCount(data.count);
        if (rows && template && data.alerts.length) {
          prepend(data.alerts);
          lastId = Math.max(lastId, data.last_id);
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
      });
  }

  poll();
  window.setInterval(poll, seconds * 1000);
})();
