/*
 * A notice batch's progress page: asks the batch's JSON status (data-status-url, behind the
 * admin login) every two seconds while it is queued or running, moves the bar, and shows the
 * download link once done (or the error once failed). Text goes in with textContent only.
 */
(function () {
  "use strict";

  var root = document.getElementById("notice-batch");
  if (!root || !window.fetch) {
    return;
  }
  var url = root.getAttribute("data-status-url");
  var bar = document.getElementById("notice-batch-bar");
  var count = document.getElementById("notice-batch-count");
  var status = document.getElementById("notice-batch-status");
  var skipped = document.getElementById("notice-batch-skipped");
  var skippedList = document.getElementById("notice-batch-skipped-list");
  var error = document.getElementById("notice-batch-error");
  var errorBox = document.getElementById("notice-batch-error-box");
  var download = document.getElementById("notice-batch-download");
  var timer = null;

  function finished(state) {
    return state === "done" || state === "failed";
  }

  function show(data) {
    bar.max = data.total;
    bar.value = data.done;
    bar.textContent = data.percent + "%";
    count.textContent = data.done + "/" + data.total;
    status.textContent = data.status_label;
    root.setAttribute("data-status", data.status);
    if (data.skipped) {
      skipped.hidden = false;
      skipped.querySelector("[data-field=skipped]").textContent = String(data.skipped);
      skippedList.textContent = "";
      data.skipped_cases.forEach(function (item) {
        var li = document.createElement("li");
        li.textContent = "#" + item.case + ": " + item.reason;
        skippedList.appendChild(li);
      });
    }
    if (data.error) {
      errorBox.hidden = false;
      error.textContent = data.error;
    }
    if (data.download_url) {
      download.setAttribute("href", data.download_url);
      download.hidden = false;
    }
    if (finished(data.status) && timer !== null) {
      window.clearInterval(timer);
      timer = null;
      if (data.status === "failed") {
        window.location.reload(); // shows the "start again" button
      }
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        return response.ok && type.indexOf("application/json") === 0 ? response.json() : null;
      })
      .then(function (data) {
        if (data) {
          show(data);
        }
      })
      .catch(function () {}); // offline or signed out: the next poll retries
  }

  if (!finished(root.getAttribute("data-status"))) {
    timer = window.setInterval(poll, 2000);
    poll();
  }
})();
