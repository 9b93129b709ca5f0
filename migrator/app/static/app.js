// pindah app: small progressive enhancements. Every page works without them except the live
// progress and the drop zone. No code from the internet; nothing here sees a password.
"use strict";

function counters() {
  document.querySelectorAll("textarea[data-counter]").forEach(function (area) {
    var out = document.getElementById(area.dataset.counter);
    // Code points, as a rough guide; the plan below says exactly how each place will cut it.
    var show = function () {
      var n = Array.from(area.value).length;
      out.textContent = n + (area.dataset.limit ? " / " + area.dataset.limit : "") + " " + area.dataset.word;
    };
    area.addEventListener("input", show);
    show();
  });
}

function tickButtons() {
  document.querySelectorAll("button[data-tick]").forEach(function (button) {
    button.addEventListener("click", function () {
      var on = button.dataset.tick === "all";
      document.querySelectorAll("#select-form input[name=keep]").forEach(function (box) { box.checked = on; });
    });
  });
}

function copyButtons() {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var area = document.getElementById(button.dataset.copy);
      if (navigator.clipboard) { navigator.clipboard.writeText(area.value); }
      else { area.select(); document.execCommand("copy"); }
      button.setAttribute("aria-pressed", "true");
    });
  });
}

function dropZone() {
  var zone = document.getElementById("drop");
  if (!zone) { return; }
  var input = document.getElementById("upload");
  var status = document.getElementById("drop-status");
  var send = function (file) {
    status.textContent = zone.dataset.busy;
    // The file goes as the request body, streamed by the browser: never read into this page.
    fetch("/export/upload", { method: "POST", body: file, credentials: "same-origin",
      headers: { "X-CSRF-Token": zone.dataset.csrf, "X-File-Name": encodeURIComponent(file.name), "Content-Type": "application/zip" } })
      .then(function (r) { return r.json(); })
      .then(function (answer) { if (answer.next) { window.location = answer.next; } else { status.textContent = answer.error; } })
      .catch(function () { status.textContent = zone.dataset.failed; });
  };
  input.addEventListener("change", function () { if (input.files.length) { send(input.files[0]); } });
  zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
  zone.addEventListener("drop", function (e) { e.preventDefault(); zone.classList.remove("over"); if (e.dataTransfer.files.length) { send(e.dataTransfer.files[0]); } });
}

function duration(seconds) {
  if (seconds < 90) { return Math.max(1, Math.round(seconds)) + " s"; }
  if (seconds < 5400) { return Math.round(seconds / 60) + " min"; }
  return Math.round(seconds / 3600) + " h";
}

function liveProgress() {
  var live = document.getElementById("live");
  if (!live) { return; }
  var words = JSON.parse(live.dataset.words);
  var draw = function (snap) {
    document.getElementById("start").disabled = snap.running;
    document.getElementById("stop").disabled = !snap.running;
    var err = document.getElementById("run-error");
    err.hidden = !snap.error;
    err.textContent = snap.error || "";
    snap.targets.forEach(function (t) {
      var card = Array.from(document.querySelectorAll(".target")).find(function (c) { return c.dataset.spec === t.spec; });
      if (!card) { return; }
      var bar = card.querySelector("progress");
      bar.max = Math.max(1, t.total);
      bar.value = t.done;
      var text = (words[t.state] || t.state) + " · " + t.done + " / " + t.total;
      if (t.state === "running" && t.eta_seconds) { text += " · " + words.left.replace("{t}", duration(t.eta_seconds)); }
      if (t.state === "limit" && t.resume_at) { text += " · " + words.until.replace("{t}", new Date(t.resume_at).toLocaleString()); }
      card.querySelector(".count").textContent = text;
      card.querySelector(".message").textContent = t.message || "";
      var current = card.querySelector(".current");
      current.hidden = !t.current;
      if (t.current) {
        current.querySelector("span").textContent = words.now + " " + t.current;
        var img = current.querySelector("img");
        var src = "/thumb/" + encodeURIComponent(t.current) + "/0";
        if (img.getAttribute("src") !== src) { img.setAttribute("src", src); }
      }
    });
    if (!snap.running && live.dataset.wasRunning === "1") { window.location.reload(); }
    live.dataset.wasRunning = snap.running ? "1" : "0";
  };
  draw(JSON.parse(live.dataset.snapshot));
  if (window.EventSource) {
    var source = new EventSource("/events");
    source.onmessage = function (e) { draw(JSON.parse(e.data)); };
  }
}

document.addEventListener("DOMContentLoaded", function () {
  counters(); tickButtons(); copyButtons(); dropZone(); liveProgress();
});
