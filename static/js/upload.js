// Resumable upload of a lesson's parts (recording, lesson plan, courseware, exercises, subtitles) straight
// to the object store, with the server checking the result in the background.
//
// Each [data-uploader] element is one part. Choosing a file starts an upload (POST /api/lessons/<id>/uploads)
// that names its part size; the browser computes each part's SHA-256 (part-checksum.js), asks the app for
// presigned URLs (POST /api/uploads/<id>/part-urls) and PUTs the parts to MinIO with XHR (for progress),
// several at once, retrying a failed part with growing pauses and waiting for the network to come back.
// MinIO refuses a part whose bytes do not match its x-amz-checksum-sha256 header, and that part is hashed
// and sent again. The upload id is remembered in localStorage under lesson + part + file name + size +
// date, so after a dropped connection or a reloaded page, choosing the same file again asks which parts
// the store holds (GET /api/uploads/<id>) and sends only the rest. POST .../complete hands the file to the
// server's worker: the status line then follows it (校验中 → 处理中 → 完成) by polling, and offers 重试
// when the job failed. No framework, no inline script (the CSP forbids it).
(function () {
  "use strict";

  var CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var STORE = "learnspace-upload:";
  var PARALLEL = 4;           // parts in flight at once (data-parallel on the widget overrides it)
  var URL_BATCH = 8;          // presigned URLs asked for in one request
  var MAX_ATTEMPTS = 8;       // per part, before pausing for the teacher to press "继续上传"
  var MAX_PAUSE_MS = 30000;   // longest wait between attempts
  var MAX_MISSING_ROUNDS = 3; // complete → 409 missing parts → send them → complete, at most this often
  var POLL_FIRST_MS = 2000;   // first look at a file the server is checking; then slower and slower
  var POLL_MAX_MS = 15000;
  var active = 0;             // uploads with bytes still to send (for the leave-page warning)

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

  // A message as a sentence: ends with a full stop (the server's may or may not).
  function sentence(text) { return /[。！？.!?]$/.test(text) ? text : text + "。"; }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function whenOnline() {
    if (navigator.onLine !== false) { return Promise.resolve(); }
    return new Promise(function (resolve) { window.addEventListener("online", resolve, {once: true}); });
  }

  function pauseFor(attempt) {
    return Math.min(MAX_PAUSE_MS, 1000 * Math.pow(2, attempt - 1)) + Math.random() * 500;
  }

  function uploadUrl(id, action) {
    return "/api/uploads/" + encodeURIComponent(id) + (action ? "/" + action : "");
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
    this.body = null;
  }

  var STATUS_MESSAGES = {
    0: "网络连接中断",
    401: "登录已过期，请刷新页面重新登录后再继续（已上传的部分会保留）",
    403: "您没有权限上传到这节课",
    404: "这次上传已不存在（可能已取消或过期），请重新选择文件",
    413: "文件太大，超过了允许的上限",
    429: "操作过于频繁，请稍后再试"
  };

  function errorFrom(status, text) {
    var body = null;
    if (text) {
      try { body = JSON.parse(text); } catch (e) { body = null; }
    }
    var message = body && body.error;
    var retry = status === 0 || status === 408 || status === 429 || status >= 500;
    if (!message) {
      message = STATUS_MESSAGES[status] || (status >= 500 ? "服务器暂时出错（" + status + "）" : "上传失败（" + status + "）");
    }
    var error = new UploadError(message, status, retry);
    error.body = body;
    return error;
  }

  // An answer of the object store (S3 XML) to a part's PUT, as an UploadError.
  function storeError(status, text, number) {
    var code = (/<Code>([^<]+)<\/Code>/.exec(text || "") || [])[1] || "";
    var error;
    if (status === 0) {
      error = new UploadError("网络连接中断", 0, true);
    } else if (code === "XAmzContentChecksumMismatch" || code === "BadDigest" || code === "InvalidDigest") {
      error = new UploadError("第 " + number + " 段在传输中损坏", status, true);
      error.corrupt = true;  // hash it again and ask for a new URL: the file may have changed on disk
    } else if (status === 403) {
      error = new UploadError("第 " + number + " 段的上传地址已过期", status, true);
      error.expired = true;
    } else if (code === "NoSuchUpload" || status === 404) {
      error = new UploadError("这次上传在服务器上已不存在（可能已过期或已取消）", status, false);
      error.gone = true;
    } else if (status >= 500 || status === 408 || status === 429) {
      error = new UploadError("存储服务暂时出错（" + status + "）", status, true);
    } else {
      error = new UploadError("第 " + number + " 段被存储服务拒绝（" + (code || status) + "）", status, false);
    }
    return error;
  }

  // One JSON request to the app with fetch; resolves with the parsed body, rejects with an UploadError.
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

  // What the server does with a file whose bytes are all in, for the status line.
  var STAGES = {
    uploading: ["校验中", "文件已全部上传，正在提交给服务器…"],
    verifying: ["校验中", "文件已全部上传，服务器正在校验（完整性和文件类型）"],
    processing: ["处理中", "文件已通过校验，服务器正在处理（读取视频信息、生成封面）"]
  };
  var JOB_FAILED = "处理失败，可重试";

  // --- one part's uploader ------------------------------------------------------------------------

  function Uploader(root) {
    this.root = root;
    this.lesson = root.getAttribute("data-lesson");
    this.kind = root.getAttribute("data-kind");
    this.partName = root.getAttribute("data-part-name") || "文件";
    this.maxBytes = parseInt(root.getAttribute("data-max-bytes") || "0", 10);
    this.parallel = Math.max(1, parseInt(root.getAttribute("data-parallel") || String(PARALLEL), 10) || PARALLEL);
    this.input = root.querySelector('input[type="file"]');
    this.box = root.querySelector(".upload-progress");
    this.bar = root.querySelector('[role="progressbar"]');
    this.fill = this.bar.querySelector("i");
    this.stageText = root.querySelector("[data-stage]");
    this.percent = root.querySelector("[data-percent]");
    this.bytesText = root.querySelector("[data-bytes]");
    this.rate = root.querySelector("[data-rate]");
    this.speedText = root.querySelector("[data-speed]");
    this.etaText = root.querySelector("[data-eta]");
    this.message = root.querySelector(".upload-message");
    this.cancelButton = root.querySelector("[data-cancel]");
    this.resumeButton = root.querySelector("[data-resume]");
    this.retryButton = root.querySelector("[data-retry]");
    this.xhrs = [];
    this.busy = false;
    this.holding = false;
    this.run_ = 0; // bumped by every begin/stop: a loop of an older run stops when it sees another number
    var self = this;
    this.input.addEventListener("change", function () {
      if (self.input.files && self.input.files[0]) { self.choose(self.input.files[0]); }
    });
    this.cancelButton.addEventListener("click", function () { self.cancel(); });
    this.resumeButton.addEventListener("click", function () { self.resume(); });
    this.retryButton.addEventListener("click", function () { self.retryProcessing(); });
  }

  Uploader.prototype.say = function (text, kind) {
    this.message.textContent = text || "";
    this.message.className = "upload-message" + (kind ? " " + kind : "");
  };

  Uploader.prototype.stage = function (text) {
    this.stageText.textContent = text;
    this.root.setAttribute("data-state", text);
  };

  // Bytes still to send keep the leave-page warning on.
  Uploader.prototype.hold = function () {
    if (!this.holding) { this.holding = true; active += 1; }
  };

  Uploader.prototype.release = function () {
    if (this.holding) { this.holding = false; active -= 1; }
  };

  Uploader.prototype.partLength = function (number) {
    return Math.min(this.partSize, this.size - (number - 1) * this.partSize);
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
    this.size = file.size;
    this.fileName = file.name;
    this.key = storageKey(this.lesson, this.kind, file);
    this.begin();
  };

  Uploader.prototype.begin = function () {
    var self = this;
    var run = ++this.run_;
    this.busy = true;
    this.stopped = false;
    this.hold();
    this.input.disabled = true;
    this.resumeButton.hidden = true;
    this.retryButton.hidden = true;
    this.cancelButton.hidden = false;
    this.box.hidden = false;
    this.samples = null;
    this.stage("准备中");
    this.render(0);
    this.say("正在准备上传…");
    var note = "";
    var saved = recall(this.key);
    var start = saved ? api("GET", uploadUrl(saved)).then(function (info) {
      if (info.size !== self.size) { remember(self.key, null); return null; }
      if (info.status === "failed") {
        // E.g. an unfinished upload expired after a day: start cleanly again, and say why.
        remember(self.key, null);
        self.hideUnfinished(info.id);
        note = "上次未完成的上传已失效，现已重新开始上传。原因：" + sentence(info.failure_reason || "原因未知");
        return null;
      }
      return info;
    }, function (err) {
      if (err.retry) { throw err; }
      remember(self.key, null); // gone or refused: start again
      return null;
    }) : Promise.resolve(null);
    start.then(function (info) {
      if (run !== self.run_) { return null; }
      if (info && info.status !== "uploading") { self.adopt(info); return self.watch(info); }
      if (info) {
        self.adopt(info);
        self.say("找到未完成的上传，从中断处继续（服务器已有 " + formatBytes(self.confirmed) + "）。");
        return self.run();
      }
      return api("POST", "/api/lessons/" + encodeURIComponent(self.lesson) + "/uploads",
                 {kind: self.kind, filename: self.fileName, size: self.size}).then(function (created) {
        self.adopt(created);
        remember(self.key, String(created.id));
        if (note) { self.notice(note); }
        return self.run();
      });
    }).catch(function (err) { if (run === self.run_) { self.fail(err); } });
  };

  // The page's note about upload *id* ("有一个未完成的上传…") is out of date from now on.
  Uploader.prototype.hideUnfinished = function (id) {
    var part = this.root.closest(".part");
    Array.prototype.forEach.call(part ? part.querySelectorAll("[data-abandon]") : [], function (button) {
      if (button.getAttribute("data-abandon") === String(id)) { button.closest(".part-note").hidden = true; }
    });
  };

  // A note above the widget that stays while the status line moves on (until the part is re-drawn).
  Uploader.prototype.notice = function (text) {
    var note = document.createElement("p");
    note.className = "part-note";
    note.setAttribute("data-notice", "");
    note.textContent = text;
    this.root.parentNode.insertBefore(note, this.root);
  };

  Uploader.prototype.adopt = function (info) {
    var self = this;
    if (this.fileId !== info.id) { this.checksums = {}; }
    this.hideUnfinished(info.id);
    this.fileId = info.id;
    this.partSize = info.part_size;
    this.partCount = info.part_count;
    this.held = {};
    this.confirmed = 0;
    this.inFlight = {};
    this.urls = {};
    this.urlRequests = {};
    (info.parts || []).forEach(function (number) {
      if (!self.held[number] && number >= 1 && number <= self.partCount) {
        self.held[number] = true;
        self.confirmed += self.partLength(number);
      }
    });
    this.render(this.confirmed);
  };

  // Send the parts the store does not hold yet, then complete; *rounds* counts the completes that found parts missing.
  Uploader.prototype.run = function (rounds) {
    var self = this;
    var run = this.run_;
    this.queue = [];
    for (var n = 1; n <= this.partCount; n++) { if (!this.held[n]) { this.queue.push(n); } }
    this.stage("上传中");
    this.samples = [{t: Date.now(), bytes: this.confirmed}];
    this.render(this.confirmed);
    function worker() {
      if (self.stopped || run !== self.run_ || !self.queue.length) { return Promise.resolve(); }
      return self.sendWithRetry(self.queue.shift(), 1, run).then(worker);
    }
    var workers = [];
    var count = Math.min(this.parallel, Math.max(this.queue.length, 1)); // before the workers take from the queue
    for (var w = 0; w < count; w++) { workers.push(worker()); }
    return Promise.all(workers).then(function () {
      if (self.stopped || run !== self.run_) { return null; }
      return self.complete(1, rounds || 0);
    }, function (err) {
      self.stopped = true;
      self.abortAll();
      throw err;
    });
  };

  // *run*: the run this belongs to; a loop of a stopped or superseded run ("继续上传" starts another) ends.
  Uploader.prototype.sendWithRetry = function (number, attempt, run) {
    var self = this;
    return this.sendPart(number, run).catch(function (err) {
      if (self.stopped || run !== self.run_ || !err.retry) { throw err; }
      delete self.urls[number];
      if (err.corrupt) { delete self.checksums[number]; }
      if (err.expired && attempt === 1) { return self.sendWithRetry(number, attempt + 1, run); } // a fresh URL now
      if (attempt >= MAX_ATTEMPTS) {
        throw new UploadError(err.message + "，已重试 " + (attempt - 1) + " 次", err.status, true);
      }
      var pause = pauseFor(attempt);
      self.restartSpeed(); // no speed or time left is shown while nothing moves
      self.say(err.message + "，" + Math.ceil(pause / 1000) + " 秒后自动重试（已失败 " + attempt + " 次）…", "warn");
      return sleep(pause).then(whenOnline).then(function () {
        if (self.stopped || run !== self.run_) { throw err; }
        self.say("");
        return self.sendWithRetry(number, attempt + 1, run);
      });
    });
  };

  // The SHA-256 of each part in *numbers* (base64), hashed one after the other and kept for retries.
  Uploader.prototype.hashParts = function (numbers) {
    var self = this;
    return numbers.reduce(function (previous, number) {
      return previous.then(function () {
        if (self.checksums[number]) { return null; }
        var start = (number - 1) * self.partSize;
        var blob = self.file.slice(start, start + self.partLength(number));
        return window.LearnSpaceChecksum.base64(blob).then(function (checksum) {
          self.checksums[number] = checksum;
        });
      });
    }, Promise.resolve()).then(function () {
      return numbers.map(function (number) { return self.checksums[number]; });
    }, function () {
      throw new UploadError("无法读取所选文件（可能已被移动或修改），请重新选择文件", 0, false);
    });
  };

  // A presigned URL for part *number*: asked for together with those of the next parts in the queue.
  Uploader.prototype.urlFor = function (number) {
    var self = this;
    var now = Date.now();
    function fresh(n) { return self.urls[n] && self.urls[n].until > now; }
    if (fresh(number)) { return Promise.resolve(this.urls[number]); }
    if (!this.urlRequests[number]) {
      var batch = [number];
      for (var i = 0; i < this.queue.length && batch.length < URL_BATCH; i++) {
        var next = this.queue[i];
        if (!fresh(next) && !this.urlRequests[next]) { batch.push(next); }
      }
      var id = this.fileId;
      var request = this.hashParts(batch).then(function (checksums) {
        var parts = batch.map(function (n, index) { return {number: n, sha256: checksums[index]}; });
        return api("POST", uploadUrl(id, "part-urls"), {parts: parts}).then(function (answer) {
          // Stop using a URL well before it expires: a slow part must not start on its last seconds.
          var until = Date.now() + Math.max(10, answer.expires_in || 300) * 800;
          batch.forEach(function (n, index) {
            var url = (answer.urls || {})[String(n)];
            if (url) { self.urls[n] = {url: url, sha256: checksums[index], until: until}; }
          });
        });
      });
      var forget = function () {
        batch.forEach(function (n) { if (self.urlRequests[n] === request) { delete self.urlRequests[n]; } });
      };
      request.then(forget, forget);
      batch.forEach(function (n) { self.urlRequests[n] = request; });
    }
    return this.urlRequests[number].then(function () {
      if (!self.urls[number]) { throw new UploadError("服务器没有给出第 " + number + " 段的上传地址", 0, true); }
      return self.urls[number];
    });
  };

  Uploader.prototype.sendPart = function (number, run) {
    var self = this;
    return this.urlFor(number).then(function (target) {
      return new Promise(function (resolve, reject) {
        if (self.stopped || run !== self.run_) { reject(new UploadError("已停止", 0, false)); return; }
        var start = (number - 1) * self.partSize;
        var blob = self.file.slice(start, start + self.partLength(number));
        var xhr = new XMLHttpRequest();
        self.xhrs.push(xhr);
        xhr.open("PUT", target.url);
        xhr.setRequestHeader("x-amz-checksum-sha256", target.sha256);
        xhr.upload.onprogress = function (event) {
          self.inFlight[number] = event.loaded;
          self.progress();
        };
        function done(error) {
          self.xhrs.splice(self.xhrs.indexOf(xhr), 1);
          delete self.inFlight[number];
          if (error) { self.progress(); reject(error); return; }
          if (run === self.run_ && !self.held[number]) {
            self.held[number] = true;
            self.confirmed += blob.size;
          }
          self.progress();
          resolve();
        }
        xhr.onload = function () {
          if (xhr.status >= 200 && xhr.status < 300) { done(null); return; }
          done(storeError(xhr.status, xhr.responseText, number));
        };
        xhr.onerror = function () { done(storeError(0, null, number)); };
        xhr.ontimeout = function () { done(storeError(0, null, number)); };
        xhr.onabort = function () { done(new UploadError("已停止", 0, false)); };
        xhr.send(blob);
      });
    });
  };

  // Hand the file to the server's worker; parts it still lacks are sent first.
  Uploader.prototype.complete = function (attempt, rounds) {
    var self = this;
    var run = this.run_;
    this.cancelButton.hidden = true;
    this.render(this.size);
    this.stage(STAGES.uploading[0]);
    this.say(STAGES.uploading[1]);
    return api("POST", uploadUrl(this.fileId, "complete")).then(function (info) {
      return self.watch(info);
    }, function (err) {
      if (run !== self.run_) { return null; }
      var missing = err.status === 409 && err.body && err.body.missing;
      if (missing && missing.length && rounds < MAX_MISSING_ROUNDS) {
        missing.forEach(function (number) {
          if (self.held[number]) { delete self.held[number]; self.confirmed -= self.partLength(number); }
        });
        self.cancelButton.hidden = false;
        self.say("服务器还缺 " + missing.length + " 段，正在补传…", "warn");
        return self.run(rounds + 1);
      }
      if (!err.retry || attempt >= MAX_ATTEMPTS) { throw err; }
      // The answer was lost, or the server was busy: ask what happened before trying again.
      return sleep(pauseFor(attempt + 1)).then(whenOnline).then(function () {
        return api("GET", uploadUrl(self.fileId));
      }).then(function (info) {
        if (info.status !== "uploading") { return self.watch(info); }
        return self.complete(attempt + 1, rounds);
      }, function (again) {
        if (again.retry) { return self.complete(attempt + 1, rounds); }
        throw again;
      });
    });
  };

  // Follow a file whose bytes are all in until it is ready, failed, or its job failed (then offer 重试).
  Uploader.prototype.watch = function (info) {
    var self = this;
    var run = this.run_;
    var delay = POLL_FIRST_MS;
    var since = Date.now();
    this.release(); // nothing left to send: leaving the page no longer loses anything
    this.cancelButton.hidden = true;
    this.resumeButton.hidden = true;
    this.render(this.size);
    this.samples = null;
    function look(current) {
      if (run !== self.run_) { return null; }
      if (current.status === "ready") { return self.finished(current); }
      if (current.status === "failed") {
        var refused = new UploadError("“" + self.fileName + "”未通过检查：" + (current.failure_reason || "文件无效"), 0, false);
        refused.refused = true;
        throw refused;
      }
      if (current.job && current.job.state === "failed") { return self.jobFailed(current.job); }
      var stage = STAGES[current.status] || STAGES.verifying;
      self.stage(stage[0]);
      var waited = (Date.now() - since) / 1000;
      self.say(stage[1] + (waited >= 10 ? "，已等待 " + formatDuration(waited) : "") +
               "。可以离开此页面，稍后回来查看。");
      return sleep(delay).then(whenOnline).then(function () {
        delay = Math.min(POLL_MAX_MS, delay * 1.5);
        return api("GET", uploadUrl(self.fileId));
      }).then(look, function (err) {
        if (err.retry) { return look(current); }
        throw err;
      });
    }
    return look(info);
  };

  Uploader.prototype.jobFailed = function (job) {
    this.stage("处理失败");
    this.busy = false;
    this.input.disabled = false;
    this.input.value = "";
    this.retryButton.hidden = false;
    this.retryButton.disabled = false;
    this.say(JOB_FAILED + "：" + sentence(job.last_error || "服务器处理这个文件时出错") + "已上传的内容仍然保留，请点“重试”。", "error");
  };

  Uploader.prototype.retryProcessing = function () {
    var self = this;
    var run = ++this.run_;
    this.retryButton.disabled = true;
    this.busy = true;
    this.input.disabled = true;
    this.say("正在重新提交…");
    api("POST", uploadUrl(this.fileId, "retry")).then(function (info) {
      self.retryButton.hidden = true;
      if (!info || !info.status) { return api("GET", uploadUrl(self.fileId)).then(function (i) { return self.watch(i); }); }
      return self.watch(info);
    }).catch(function (err) { if (run === self.run_) { self.fail(err); } });
  };

  Uploader.prototype.finished = function (info) {
    var self = this;
    remember(this.key, null);
    this.stop();
    this.stage("完成");
    this.render(this.size);
    var note = "";
    if (info && info.is_showcase_eligible === false && info.ineligible_reason) {
      note = " 注意：不符合晒课技术要求（" + info.ineligible_reason + "），视频仍可播放。";
    }
    this.say("✓ " + this.partName + "上传成功：" + this.fileName + "。" + note, "ok");
    return refreshPart(this.kind).catch(function () {
      self.say("✓ 上传成功。请刷新页面查看最新状态。", "ok");
    });
  };

  Uploader.prototype.fail = function (err) {
    var self = this;
    if (this.cancelled) { return; }
    this.stop();
    if (err && err.retry && this.fileId) {
      // Parts already in the store are kept: "继续上传" (or choosing the file again) goes on from here.
      this.busy = true;
      this.hold();
      this.input.disabled = true;
      this.resumeButton.hidden = false;
      this.cancelButton.hidden = false;
      this.stage("已暂停");
      this.say("上传暂停：" + err.message + "。网络恢复后请点“继续上传”，已上传的部分不会丢失。", "error");
      return;
    }
    if (err && err.status !== 401 && err.status !== 403) {
      remember(this.key, null); // refused for good: choosing the file again starts afresh
    }
    this.box.hidden = true;
    this.say((err && err.message) || "上传失败", "error");
    if (err && err.gone && this.fileId) {
      // Say why the store dropped it (e.g. expired after a day), when the server knows.
      api("GET", uploadUrl(this.fileId)).then(function (info) {
        if (info.status === "failed" && info.failure_reason) {
          self.say("上传已失效：" + info.failure_reason + "。请重新选择文件上传。", "error");
        }
      }, function () { /* the message above stands */ });
    }
  };

  Uploader.prototype.stop = function () {
    this.stopped = true;
    this.run_ += 1;
    this.abortAll();
    this.release();
    this.busy = false;
    this.input.disabled = false;
    this.input.value = "";
    this.resumeButton.hidden = true;
    this.retryButton.hidden = true;
    this.cancelButton.hidden = true;
  };

  Uploader.prototype.abortAll = function () {
    this.xhrs.slice().forEach(function (xhr) { xhr.abort(); });
  };

  Uploader.prototype.resume = function () {
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
    api("DELETE", uploadUrl(this.fileId)).then(function () {
      self.say("已取消上传，服务器上的部分内容已删除。");
    }, function (err) {
      self.say(err.status === 404 ? "已取消上传。" : "已停止上传，但服务器暂时无法删除已上传的部分（" + err.message +
               "），系统会在一天后自动清理。", err.status === 404 ? "" : "warn");
    }).then(function () { self.cancelled = false; self.fileId = null; });
  };

  Uploader.prototype.restartSpeed = function () {
    if (this.samples) { this.samples = []; this.progress(); }
  };

  Uploader.prototype.progress = function () {
    var loaded = this.confirmed;
    for (var number in this.inFlight) {
      if (Object.prototype.hasOwnProperty.call(this.inFlight, number)) { loaded += this.inFlight[number]; }
    }
    loaded = Math.min(loaded, this.size);
    var now = Date.now();
    if (this.samples) {
      this.samples.push({t: now, bytes: loaded});
      while (this.samples.length > 2 && now - this.samples[0].t > 8000) { this.samples.shift(); }
    }
    this.render(loaded);
  };

  Uploader.prototype.render = function (loaded) {
    var total = this.size || 0;
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
      this.rate.hidden = false;
    } else {
      this.speedText.textContent = "";
      this.etaText.textContent = "";
      this.rate.hidden = true;
    }
  };

  // --- files the server is still checking, as the page was drawn (e.g. after a reload) --------------

  // A part note [data-watch=<file id>]: follow that file; 重试 when its job failed; re-draw the part at the end.
  function watchNote(note) {
    var id = note.getAttribute("data-watch");
    var kind = note.getAttribute("data-kind");
    var text = note.querySelector("[data-watch-text]");
    var button = note.querySelector("[data-retry-file]");
    var delay = POLL_FIRST_MS;
    var stopped = false;
    function show(info) {
      if (stopped || !document.body.contains(note)) { return null; }
      if (info.status === "ready" || info.status === "failed") {
        forgetUpload(id);
        return refreshPart(kind).catch(function () { text.textContent = "已处理完，请刷新页面查看。"; });
      }
      if (info.job && info.job.state === "failed") {
        note.className = "part-note error";
        text.textContent = "“" + (info.filename || "") + "”" + JOB_FAILED + "：" + sentence(info.job.last_error || "服务器处理时出错") +
          "已上传的内容仍然保留。";
        button.hidden = false;
        button.disabled = false;
        return null;
      }
      note.className = "part-note";
      button.hidden = true;
      text.textContent = "“" + (info.filename || "") + "”" + (STAGES[info.status] || STAGES.verifying)[0] +
        "：" + (STAGES[info.status] || STAGES.verifying)[1] + "，完成后这里会自动更新。";
      return sleep(delay).then(next);
    }
    function next() {
      delay = Math.min(POLL_MAX_MS, delay * 1.5);
      return api("GET", uploadUrl(id)).then(show, function (err) {
        if (err.retry) { return sleep(delay).then(next); }
        stopped = true;
        return null;
      });
    }
    button.addEventListener("click", function () {
      button.disabled = true;
      api("POST", uploadUrl(id, "retry")).then(function () {
        delay = POLL_FIRST_MS;
        return next();
      }, function (err) {
        button.disabled = false;
        text.textContent = "重试失败：" + err.message;
      });
    });
    next();
  }

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
    api("DELETE", uploadUrl(id)).then(function () {
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
    Array.prototype.forEach.call(scope.querySelectorAll("[data-watch]"), watchNote);
  }

  window.addEventListener("beforeunload", function (event) {
    if (active > 0) {
      event.preventDefault();
      event.returnValue = "上传尚未完成。离开后再次选择同一文件即可继续。";
    }
  });

  init(document);
})();
