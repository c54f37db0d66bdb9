// Resumable, chunked upload of a lesson's parts (recording, lesson plan, courseware, exercises, subtitles).
//
// Each [data-uploader] element is one part. Choosing a file starts an upload on the server
// (POST /api/lessons/<id>/uploads), then sends the missing chunks with PUT (XHR, for progress events),
// retrying a failed chunk with growing pauses and waiting for the network to come back. The upload id
// is remembered in localStorage under lesson + part + file name + size + date, so after a dropped
// connection or a reloaded page, choosing the same file again asks the server which chunks it has
// (GET /api/uploads/<id>) and sends only the rest. Finally POST .../complete verifies the file and the
// part is re-drawn from the page. No framework, no inline script (the CSP forbids it).
(function () {
  "use strict";

  var CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var STORE = "learnspace-upload:";
  var PARALLEL = 2;          // chunks in flight at once
  var MAX_ATTEMPTS = 8;      // per chunk, before pausing for the teacher to press "继续上传"
  var MAX_PAUSE_MS = 30000;  // longest wait between attempts
  var active = 0;            // uploads running on this page (for the leave-page warning)

  // --- small helpers ------------------------------------------------------------------------------

  function formatBytes(n) {
    if (n >= 1024 * 1024 * 1024) { return (n / 1024 / 1024 / 1024).toFixed(2) + " GB"; }
    if (n >= 1024 * 1024) { return (n / 1024 / 1024).toFixed(1) + " MB"; }
    if (n >= 1024) { return Math.round(n / 1024) + " KB"; }
    return n + " 字节";
  }

  function formatDuration(seconds) {
    seconds = Math.max(1, Math.round(seconds));
    if (seconds < 60) { return seconds + " 秒"; }
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) { return minutes + " 分 " + (seconds % 60) + " 秒"; }
    return Math.floor(minutes / 60) + " 小时 " + (minutes % 60) + " 分";
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function whenOnline() {
    if (navigator.onLine !== false) { return Promise.resolve(); }
    return new Promise(function (resolve) { window.addEventListener("online", resolve, {once: true}); });
  }

  function storageKey(lesson, kind, file) {
    return STORE + [lesson, kind, file.name, file.size, file.lastModified].join(":");
  }

  function remember(key, value) {
    try {
      if (value === null) { localStorage.removeItem(key); } else { localStorage.setItem(key, value); }
    } catch (e) { /* private mode or full storage: the upload still works, only without resuming */ }
  }

  function recall(key) {
    try { return localStorage.getItem(key); } catch (e) { return null; }
  }

  function forgetUpload(fileId) {
    try {
      for (var i = localStorage.length - 1; i >= 0; i--) {
        var key = localStorage.key(i);
        if (key && key.indexOf(STORE) === 0 && localStorage.getItem(key) === String(fileId)) {
          localStorage.removeItem(key);
        }
      }
    } catch (e) { /* nothing remembered */ }
  }

  // An error the teacher should read; "retry" says whether trying again may help.
  function UploadError(message, status, retry) {
    this.message = message;
    this.status = status || 0;
    this.retry = !!retry;
  }

  var STATUS_MESSAGES = {
    0: "网络连接中断",
    401: "登录已过期，请刷新页面重新登录后再继续（已上传的部分会保留）",
    403: "您没有权限上传到这节课",
    404: "这次上传已不存在（可能已取消或过期），请重新选择文件",
    413: "文件太大，超过了允许的上限",
    429: "操作过于频繁，请稍后再试"
  };

  function errorFrom(status, body) {
    var message = null;
    if (body) {
      try { message = JSON.parse(body).error; } catch (e) { message = null; }
    }
    var retry = status === 0 || status === 408 || status === 429 || status >= 500;
    if (!message) {
      message = STATUS_MESSAGES[status] || (status >= 500 ? "服务器暂时出错（" + status + "）" : "上传失败（" + status + "）");
    }
    return new UploadError(message, status, retry);
  }

  // One JSON request with fetch; resolves with the parsed body, rejects with an UploadError.
  function api(method, url, payload) {
    var options = {method: method, credentials: "same-origin",
                   headers: {"Accept": "application/json", "X-CSRFToken": CSRF}};
    if (payload !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(payload);
    }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        if (response.ok && isLoginPage(response.headers.get("Content-Type"))) { throw errorFrom(401, null); }
        if (!response.ok) { throw errorFrom(response.status, text); }
        try { return text ? JSON.parse(text) : {}; } catch (e) { return {}; }
      });
    }, function () { throw errorFrom(0, null); });
  }

  // An expired session gets the login page (HTML) instead of the API's JSON.
  function isLoginPage(contentType) { return (contentType || "").indexOf("text/html") >= 0; }

  function sha256Hex(blob) {
    if (!(window.crypto && window.crypto.subtle && blob.arrayBuffer)) { return Promise.resolve(null); }
    return blob.arrayBuffer().then(function (buffer) {
      return window.crypto.subtle.digest("SHA-256", buffer);
    }).then(function (digest) {
      return Array.prototype.map.call(new Uint8Array(digest), function (b) {
        return ("0" + b.toString(16)).slice(-2);
      }).join("");
    }, function () { return null; });
  }

  // --- one part's uploader ------------------------------------------------------------------------

  function Uploader(root) {
    this.root = root;
    this.lesson = root.getAttribute("data-lesson");
    this.kind = root.getAttribute("data-kind");
    this.partName = root.getAttribute("data-part-name") || "文件";
    this.maxBytes = parseInt(root.getAttribute("data-max-bytes") || "0", 10);
    this.input = root.querySelector('input[type="file"]');
    this.box = root.querySelector(".upload-progress");
    this.bar = root.querySelector('[role="progressbar"]');
    this.fill = this.bar.querySelector("i");
    this.percent = root.querySelector("[data-percent]");
    this.bytesText = root.querySelector("[data-bytes]");
    this.speedText = root.querySelector("[data-speed]");
    this.etaText = root.querySelector("[data-eta]");
    this.message = root.querySelector(".upload-message");
    this.cancelButton = root.querySelector("[data-cancel]");
    this.resumeButton = root.querySelector("[data-resume]");
    this.xhrs = [];
    this.busy = false;
    var self = this;
    this.input.addEventListener("change", function () {
      if (self.input.files && self.input.files[0]) { self.choose(self.input.files[0]); }
    });
    this.cancelButton.addEventListener("click", function () { self.cancel(); });
    this.resumeButton.addEventListener("click", function () { self.resume(); });
  }

  Uploader.prototype.say = function (text, kind) {
    this.message.textContent = text || "";
    this.message.className = "upload-message" + (kind ? " " + kind : "");
  };

  Uploader.prototype.chunkLength = function (index) {
    return Math.min(this.chunkSize, this.file.size - index * this.chunkSize);
  };

  Uploader.prototype.choose = function (file) {
    if (this.busy) { return; }
    if (file.size === 0) { this.say("这个文件是空的（0 字节），请选择正确的文件。", "error"); return; }
    if (this.maxBytes && file.size > this.maxBytes) {
      this.say("文件太大：" + formatBytes(file.size) + "，" + this.partName + "最大 " + formatBytes(this.maxBytes) +
               "。请压缩后再上传。", "error");
      return;
    }
    this.file = file;
    this.key = storageKey(this.lesson, this.kind, file);
    this.begin();
  };

  Uploader.prototype.begin = function () {
    var self = this;
    this.busy = true;
    this.stopped = false;
    active += 1;
    this.input.disabled = true;
    this.resumeButton.hidden = true;
    this.cancelButton.hidden = false;
    this.box.hidden = false;
    this.render(0);
    this.say("正在准备上传…");
    var saved = recall(this.key);
    var start = saved ? api("GET", "/api/uploads/" + encodeURIComponent(saved)).then(function (info) {
      // "verifying": the page was reloaded while the server checked the file; completing again is safe.
      if ((info.status === "uploading" || info.status === "verifying") && info.size === self.file.size) { return info; }
      if (info.status === "ready") { return info; }
      remember(self.key, null);
      return null;
    }, function (err) {
      if (err.retry) { throw err; }
      remember(self.key, null); // gone or refused: start again
      return null;
    }) : Promise.resolve(null);
    start.then(function (info) {
      if (info && info.status === "ready") { return self.finished(info); }
      if (info) {
        self.adopt(info);
        self.say("找到未完成的上传，从中断处继续（服务器已有 " + formatBytes(self.confirmed) + "）。");
        return self.run();
      }
      return api("POST", "/api/lessons/" + encodeURIComponent(self.lesson) + "/uploads",
                 {kind: self.kind, filename: self.file.name, size: self.file.size}).then(function (created) {
        self.adopt(created);
        remember(self.key, String(created.id));
        return self.run();
      });
    }).catch(function (err) { self.fail(err); });
  };

  Uploader.prototype.adopt = function (info) {
    this.fileId = info.id;
    this.chunkSize = info.chunk_size;
    this.chunkCount = info.chunk_count;
    this.received = {};
    this.confirmed = 0;
    this.inFlight = {};
    var self = this;
    (info.received || []).forEach(function (index) {
      self.received[index] = true;
      self.confirmed += self.chunkLength(index);
    });
    this.samples = [{t: Date.now(), bytes: this.confirmed}];
    this.render(this.confirmed);
  };

  Uploader.prototype.run = function () {
    var self = this;
    var queue = [];
    for (var i = 0; i < this.chunkCount; i++) { if (!this.received[i]) { queue.push(i); } }
    function worker() {
      if (self.stopped || !queue.length) { return Promise.resolve(); }
      return self.sendWithRetry(queue.shift(), 1).then(worker);
    }
    var workers = [];
    for (var w = 0; w < Math.min(PARALLEL, Math.max(queue.length, 1)); w++) { workers.push(worker()); }
    return Promise.all(workers).then(function () {
      if (self.stopped) { return null; }
      return self.complete();
    }, function (err) {
      self.stopped = true;
      self.abortAll();
      throw err;
    });
  };

  Uploader.prototype.sendWithRetry = function (index, attempt) {
    var self = this;
    return this.sendChunk(index).catch(function (err) {
      if (self.stopped) { throw err; }
      if (!err.retry) { throw err; }
      if (attempt >= MAX_ATTEMPTS) {
        throw new UploadError(err.message + "，已重试 " + (attempt - 1) + " 次。", err.status, true);
      }
      var pause = Math.min(MAX_PAUSE_MS, 1000 * Math.pow(2, attempt - 1)) + Math.random() * 500;
      self.say(err.message + "，" + Math.ceil(pause / 1000) + " 秒后自动重试（已失败 " + attempt + " 次）…", "warn");
      return sleep(pause).then(whenOnline).then(function () {
        if (self.stopped) { throw err; }
        self.say("");
        return self.sendWithRetry(index, attempt + 1);
      });
    });
  };

  Uploader.prototype.sendChunk = function (index) {
    var self = this;
    var start = index * this.chunkSize;
    var blob = this.file.slice(start, start + this.chunkLength(index));
    return sha256Hex(blob).then(function (digest) {
      return new Promise(function (resolve, reject) {
        if (self.stopped) { reject(new UploadError("已停止", 0, false)); return; }
        var xhr = new XMLHttpRequest();
        self.xhrs.push(xhr);
        xhr.open("PUT", "/api/uploads/" + encodeURIComponent(self.fileId) + "/chunks/" + index);
        xhr.setRequestHeader("X-CSRFToken", CSRF);
        xhr.setRequestHeader("Content-Type", "application/octet-stream");
        xhr.setRequestHeader("Accept", "application/json");
        if (digest) { xhr.setRequestHeader("X-Chunk-SHA256", digest); }
        xhr.upload.onprogress = function (event) {
          self.inFlight[index] = event.loaded;
          self.progress();
        };
        function done(error) {
          self.xhrs.splice(self.xhrs.indexOf(xhr), 1);
          delete self.inFlight[index];
          if (error) { self.progress(); reject(error); return; }
          self.received[index] = true;
          self.confirmed += blob.size;
          self.progress();
          resolve();
        }
        xhr.onload = function () {
          var ok = xhr.status >= 200 && xhr.status < 300;
          if (ok && !isLoginPage(xhr.getResponseHeader("Content-Type"))) { done(null); return; }
          done(ok ? errorFrom(401, null) : errorFrom(xhr.status, xhr.responseText));
        };
        xhr.onerror = function () { done(errorFrom(0, null)); };
        xhr.ontimeout = function () { done(errorFrom(0, null)); };
        xhr.onabort = function () { done(new UploadError("已停止", 0, false)); };
        xhr.send(blob);
      });
    });
  };

  Uploader.prototype.complete = function (attempt) {
    var self = this;
    attempt = attempt || 1;
    this.cancelButton.hidden = true; // the server is composing the file now
    this.render(this.file.size);
    this.say("上传完成，正在校验文件" + (this.file.size > 512 * 1024 * 1024 ? "（大文件可能需要一两分钟）" : "") + "…");
    return api("POST", "/api/uploads/" + encodeURIComponent(this.fileId) + "/complete").then(function (info) {
      return self.finished(info);
    }, function (err) {
      if (!err.retry || attempt >= MAX_ATTEMPTS) { throw err; }
      // The answer was lost, or the server was busy: ask what happened before trying again.
      return sleep(Math.min(MAX_PAUSE_MS, 1000 * Math.pow(2, attempt))).then(whenOnline).then(function () {
        return api("GET", "/api/uploads/" + encodeURIComponent(self.fileId));
      }).then(function (info) {
        if (info.status === "ready") { return self.finished(info); }
        var missing = [];
        for (var i = 0; i < self.chunkCount; i++) {
          if ((info.received || []).indexOf(i) < 0) { missing.push(i); }
        }
        if (missing.length) { self.adopt(info); return self.run(); }
        return self.complete(attempt + 1);
      }, function (again) {
        if (again.retry) { return self.complete(attempt + 1); }
        throw again;
      });
    });
  };

  Uploader.prototype.finished = function (info) {
    var self = this;
    remember(this.key, null);
    this.stop();
    this.render(this.file.size);
    var note = "";
    if (info && info.is_showcase_eligible === false && info.ineligible_reason) {
      note = " 注意：不符合晒课技术要求（" + info.ineligible_reason + "），视频仍可播放。";
    }
    this.say("✓ " + this.partName + "上传成功：" + this.file.name + "。" + note, "ok");
    return refreshPart(this.kind).catch(function () {
      self.say("✓ 上传成功。请刷新页面查看最新状态。", "ok");
    });
  };

  Uploader.prototype.fail = function (err) {
    if (this.cancelled) { return; }
    this.stop();
    if (err && err.retry && this.fileId) {
      // Chunks already on the server are kept: "继续上传" (or choosing the file again) goes on from here.
      this.busy = true;
      active += 1;
      this.input.disabled = true;
      this.resumeButton.hidden = false;
      this.cancelButton.hidden = false;
      this.say("上传暂停：" + err.message + "。网络恢复后请点“继续上传”，已上传的部分不会丢失。", "error");
      return;
    }
    if (err && err.status !== 401 && err.status !== 403) {
      remember(this.key, null); // refused for good: choosing the file again starts afresh
    }
    this.box.hidden = true;
    this.say((err && err.message) || "上传失败", "error");
  };

  Uploader.prototype.stop = function () {
    this.stopped = true;
    this.abortAll();
    if (this.busy) { active -= 1; }
    this.busy = false;
    this.input.disabled = false;
    this.input.value = "";
    this.resumeButton.hidden = true;
    this.cancelButton.hidden = true;
  };

  Uploader.prototype.abortAll = function () {
    this.xhrs.slice().forEach(function (xhr) { xhr.abort(); });
  };

  Uploader.prototype.resume = function () {
    active -= 1;
    this.busy = false;
    this.begin();
  };

  Uploader.prototype.cancel = function () {
    var self = this;
    this.cancelled = true;
    this.stop();
    this.box.hidden = true;
    remember(this.key, null);
    if (!this.fileId) { this.say("已取消上传。"); this.cancelled = false; return; }
    this.say("正在取消…");
    api("DELETE", "/api/uploads/" + encodeURIComponent(this.fileId)).then(function () {
      self.say("已取消上传，服务器上的部分内容已删除。");
    }, function (err) {
      self.say(err.status === 404 ? "已取消上传。" : "已停止上传，但服务器暂时无法删除已上传的部分（" + err.message +
               "），系统会在一天后自动清理。", err.status === 404 ? "" : "warn");
    }).then(function () { self.cancelled = false; self.fileId = null; });
  };

  Uploader.prototype.progress = function () {
    var loaded = this.confirmed;
    for (var index in this.inFlight) {
      if (Object.prototype.hasOwnProperty.call(this.inFlight, index)) { loaded += this.inFlight[index]; }
    }
    loaded = Math.min(loaded, this.file.size);
    var now = Date.now();
    this.samples.push({t: now, bytes: loaded});
    while (this.samples.length > 2 && now - this.samples[0].t > 8000) { this.samples.shift(); }
    this.render(loaded);
  };

  Uploader.prototype.render = function (loaded) {
    var total = this.file ? this.file.size : 0;
    var percent = total ? Math.floor(loaded * 100 / total) : 0;
    this.fill.style.width = percent + "%";
    this.bar.setAttribute("aria-valuenow", String(percent));
    this.bar.setAttribute("aria-valuetext", "已上传 " + percent + "%");
    this.percent.textContent = percent + "%";
    this.bytesText.textContent = formatBytes(loaded) + " / " + formatBytes(total);
    var first = this.samples && this.samples[0];
    var last = this.samples && this.samples[this.samples.length - 1];
    var seconds = first && last ? (last.t - first.t) / 1000 : 0;
    var speed = seconds >= 0.5 ? (last.bytes - first.bytes) / seconds : 0;
    if (speed > 0 && loaded < total) {
      this.speedText.textContent = formatBytes(speed) + "/秒";
      this.etaText.textContent = "剩余约 " + formatDuration((total - loaded) / speed);
    } else {
      this.speedText.textContent = "";
      this.etaText.textContent = "";
    }
  };

  // --- page wiring ------------------------------------------------------------------------------------

  // Re-draw one part (and the summary, and the player after a recording) from a fresh copy of the page.
  function refreshPart(kind) {
    return fetch(window.location.href, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var ids = ["part-" + kind, "lesson-summary"];
        if (kind === "recording") { ids.push("lesson-player"); }
        ids.forEach(function (id) {
          var now = document.getElementById(id);
          var next = fresh.getElementById(id);
          if (now && next) {
            var adopted = document.importNode(next, true);
            if (id === "part-" + kind) {
              // Keep the success message visible in the re-drawn part.
              var oldMessage = now.querySelector(".upload-message");
              var newMessage = adopted.querySelector(".upload-message");
              if (oldMessage && newMessage) {
                newMessage.textContent = oldMessage.textContent;
                newMessage.className = oldMessage.className;
              }
            }
            now.replaceWith(adopted);
            init(adopted);
          }
        });
      });
  }

  function abandon(button) {
    var id = button.getAttribute("data-abandon");
    button.disabled = true;
    api("DELETE", "/api/uploads/" + encodeURIComponent(id)).then(function () {
      forgetUpload(id);
      var note = button.closest(".part-note");
      if (note) { note.textContent = "已放弃这次未完成的上传。"; }
    }, function (err) {
      button.disabled = false;
      var note = button.closest(".part-note");
      if (note) { note.appendChild(document.createTextNode(" 未能放弃：" + err.message)); }
    });
  }

  function init(scope) {
    Array.prototype.forEach.call(scope.querySelectorAll("[data-uploader]"), function (root) {
      if (!root.uploader) { root.uploader = new Uploader(root); }
    });
    Array.prototype.forEach.call(scope.querySelectorAll("[data-abandon]"), function (button) {
      button.addEventListener("click", function () { abandon(button); });
    });
  }

  window.addEventListener("beforeunload", function (event) {
    if (active > 0) {
      event.preventDefault();
      event.returnValue = "上传尚未完成。离开后再次选择同一文件即可继续。";
    }
  });

  init(document);
})();
