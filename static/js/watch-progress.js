// Save the viewer's position in a lesson recording and resume from it (learning/_lesson_panel.html).
// Reports every ~10 s while playing, on pause, on seeking, and when the page is hidden or left
// (fetch keepalive, falling back to sendBeacon); the CSRF token goes in a header or a form field.
(function () {
  "use strict";
  var panel = document.getElementById("learning");
  var video = document.querySelector("#lesson-player video.player");
  if (!panel || !video) { return; }
  var url = panel.getAttribute("data-progress-url");
  var csrf = panel.getAttribute("data-csrf");
  var resume = parseFloat(panel.getAttribute("data-resume") || "");
  var played = 0;          // seconds actually played since the last report
  var lastTime = null;     // media time at the last timeupdate while playing
  var lastSent = -1;
  var timer = null;

  function report(leaving) {
    var position = video.currentTime || 0;
    if (!isFinite(position)) { return; }
    if (Math.abs(position - lastSent) < 0.5 && played < 0.5) { return; }
    var body = { position: position.toFixed(1), played: played.toFixed(1) };
    if (isFinite(video.duration)) { body.duration = video.duration.toFixed(1); }
    played = 0;
    lastSent = position;
    var sent = false;
    try {
      fetch(url, {
        method: "POST", keepalive: true, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
        body: JSON.stringify(body)
      }).catch(function () {});
      sent = true;
    } catch (e) { sent = false; }
    if (!sent && leaving && navigator.sendBeacon) {
      var form = new FormData();
      Object.keys(body).forEach(function (k) { form.append(k, body[k]); });
      form.append("csrf_token", csrf);
      navigator.sendBeacon(url, form);
    }
  }

  function resumeOnce() {
    if (isFinite(resume) && resume > 0 && (!isFinite(video.duration) || resume < video.duration - 5)) {
      video.currentTime = resume;
      lastSent = resume;
    }
    resume = NaN;
  }
  if (video.readyState >= 1) { resumeOnce(); } else { video.addEventListener("loadedmetadata", resumeOnce); }

  video.addEventListener("timeupdate", function () {
    var now = video.currentTime;
    if (!video.paused && lastTime !== null) {
      var step = now - lastTime;
      if (step > 0 && step < 2) { played += step; }   // a seek is not playing time
    }
    lastTime = now;
  });
  video.addEventListener("play", function () {
    lastTime = video.currentTime;
    if (!timer) { timer = window.setInterval(function () { report(false); }, 10000); }
  });
  video.addEventListener("pause", function () {
    if (timer) { window.clearInterval(timer); timer = null; }
    report(false);
  });
  video.addEventListener("seeked", function () { lastTime = video.currentTime; report(false); });
  video.addEventListener("ended", function () { report(false); });
  window.addEventListener("pagehide", function () { report(true); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { report(true); }
  });

  var noteForm = document.getElementById("note-form");
  if (noteForm) {
    noteForm.addEventListener("submit", function () {
      var field = noteForm.querySelector("input[name=position]");
      if (field && video.currentTime > 0) { field.value = video.currentTime.toFixed(1); }
    });
  }
}());
