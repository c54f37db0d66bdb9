// Keep a lesson recording playing across the expiry of its short-lived MinIO link (lessons/playback.py).
// The <video> starts from /files/<id>/play, which redirects to a link that lives about a minute.
// When the browser needs more of the video after that and MinIO refuses the old link (a media
// error, or a wait or stall once the link is past its life), ask the app for a fresh one (GET data-play-url,
// access checked again) and carry on at the same time, playing or paused as before. A 404 means
// the lesson was withdrawn, deleted or is no longer visible to this viewer: say so and stop.
(function () {
  "use strict";
  var video = document.querySelector("#lesson-player video.player[data-play-url]");
  if (!video) { return; }
  var endpoint = video.getAttribute("data-play-url");
  var lifetime = parseFloat(video.getAttribute("data-link-seconds") || "");
  var linkExpires = isFinite(lifetime) ? Date.now() + lifetime * 1000 : Infinity;
  var wantsPlay = false;   // what the viewer asked for: a media error must not turn it into "paused"
  var renewing = false;
  var position = 0;        // the last good time; currentTime may read 0 while a new link loads
  var recent = [];         // when links were renewed: a fresh link that keeps failing is not retried forever
  var note = null;

  function say(text) {
    if (!note) {
      note = document.createElement("p");
      note.className = "player-note";
      note.setAttribute("role", "status");
      video.parentNode.insertBefore(note, video.nextSibling);
    }
    note.textContent = text;
  }

  function renew() {
    if (renewing) { return; }
    var now = Date.now();
    recent = recent.filter(function (t) { return now - t < 30000; });
    if (recent.length >= 3) { say("视频加载失败，请检查网络后刷新页面重试。"); return; }
    recent.push(now);
    renewing = true;
    var resumeAt = video.currentTime > 0 ? video.currentTime : position;  // a seek's target counts
    fetch(endpoint, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (response.status === 404) {
          var gone = new Error("gone");
          gone.gone = true;
          throw gone;
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        linkExpires = data.expires_in ? Date.now() + data.expires_in * 1000 : Infinity;
        video.addEventListener("loadedmetadata", function () {
          if (resumeAt > 0) { video.currentTime = resumeAt; }
          renewing = false;
          if (wantsPlay) { video.play().catch(function () {}); }
        }, { once: true });
        video.src = data.url;   // runs the load algorithm: a new request with the fresh link
      })
      .catch(function (error) {
        renewing = false;
        wantsPlay = false;
        video.pause();
        say(error && error.gone ? "这节课已撤回或不再对您开放，无法继续播放。"
                                : "网络中断，视频暂时无法继续加载，请稍后刷新页面。");
      });
  }

  video.addEventListener("play", function () { wantsPlay = true; });
  video.addEventListener("pause", function () {
    if (!renewing && !video.error) { wantsPlay = false; }
  });
  video.addEventListener("timeupdate", function () {
    if (!renewing && video.readyState >= 1) { position = video.currentTime; }
  });
  video.addEventListener("error", function () {
    // MEDIA_ERR_NETWORK mid-stream; SRC_NOT_SUPPORTED is also what a refused first request gives,
    // but with a link still in its life it is a file the browser cannot play: nothing to renew.
    var code = video.error && video.error.code;
    if (code === 2 || (code === 4 && Date.now() > linkExpires)) { renew(); }
  });
  // Chromium does not report a refused range request as an error: the video waits, then stalls
  // (about 3 s later). Past the link's life, a wait that lasts a second is reason enough.
  var waitTimer = null;
  video.addEventListener("waiting", function () {
    if (Date.now() <= linkExpires) { return; }
    window.clearTimeout(waitTimer);
    waitTimer = window.setTimeout(function () {
      if (video.readyState < 3 && Date.now() > linkExpires) { renew(); }
    }, 1000);
  });
  ["playing", "canplay"].forEach(function (name) {
    video.addEventListener(name, function () { window.clearTimeout(waitTimer); });
  });
  video.addEventListener("stalled", function () {
    if (Date.now() > linkExpires) { renew(); }
  });
}());
