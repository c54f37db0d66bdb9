// SHA-256 of a Blob, base64-encoded (the form of an x-amz-checksum-sha256 header), for upload.js.
//
// Three ways, the fastest the page may use: crypto.subtle.digest (native, only in a secure context: https
// or localhost); hash-wasm's SHA-256 (static/vendor/hash-wasm, loaded before this file) when WebAssembly may
// run, as on plain http on a school LAN; else the small plain-JavaScript SHA-256 below (an old browser, or
// one whose CSP support predates 'wasm-unsafe-eval'). All three give the same bytes: the browser tests
// compare them with each other and with Python's hashlib.
(function () {
  "use strict";

  var wasmHasher = null; // promise of a hash-wasm SHA-256 hasher, or of null when WebAssembly is unavailable

  function subtle() {
    var c = window.crypto;
    return c && c.subtle && typeof c.subtle.digest === "function" ? c.subtle : null;
  }

  function hasher() {
    if (!wasmHasher) {
      var lib = window.hashwasm;
      wasmHasher = lib && window.WebAssembly && lib.createSHA256 ?
        lib.createSHA256().then(null, function () { return null; }) : Promise.resolve(null);
    }
    return wasmHasher;
  }

  function readBlob(blob) {
    if (blob.arrayBuffer) { return blob.arrayBuffer(); }
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsArrayBuffer(blob);
    });
  }

  function toBase64(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
    return window.btoa(text);
  }

  // --- plain JavaScript SHA-256 (FIPS 180-4) over a Uint8Array; returns the 32 digest bytes ---------------

  var K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ]);

  function sha256js(bytes) {
    var length = bytes.length;
    var padded = (((length + 8) >>> 6) + 1) * 64;
    var buffer = new Uint8Array(padded);
    buffer.set(bytes);
    buffer[length] = 0x80;
    var view = new DataView(buffer.buffer);
    view.setUint32(padded - 8, Math.floor(length / 536870912), false); // the bit length, big-endian
    view.setUint32(padded - 4, (length * 8) >>> 0, false);
    var h0 = 0x6a09e667, h1 = 0xbb67ae85 | 0, h2 = 0x3c6ef372, h3 = 0xa54ff53a | 0;
    var h4 = 0x510e527f, h5 = 0x9b05688c | 0, h6 = 0x1f83d9ab, h7 = 0x5be0cd19;
    var W = new Int32Array(64);
    for (var offset = 0; offset < padded; offset += 64) {
      var t, x, y;
      for (t = 0; t < 16; t++) { W[t] = view.getInt32(offset + t * 4, false); }
      for (t = 16; t < 64; t++) {
        x = W[t - 15];
        y = W[t - 2];
        W[t] = (W[t - 16] + ((x >>> 7 | x << 25) ^ (x >>> 18 | x << 14) ^ (x >>> 3)) + W[t - 7] +
                ((y >>> 17 | y << 15) ^ (y >>> 19 | y << 13) ^ (y >>> 10))) | 0;
      }
      var a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7;
      for (t = 0; t < 64; t++) {
        var t1 = (h + ((e >>> 6 | e << 26) ^ (e >>> 11 | e << 21) ^ (e >>> 25 | e << 7)) +
                  ((e & f) ^ (~e & g)) + K[t] + W[t]) | 0;
        var t2 = (((a >>> 2 | a << 30) ^ (a >>> 13 | a << 19) ^ (a >>> 22 | a << 10)) +
                  ((a & b) ^ (a & c) ^ (b & c))) | 0;
        h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + h) | 0;
    }
    var out = new DataView(new ArrayBuffer(32));
    [h0, h1, h2, h3, h4, h5, h6, h7].forEach(function (word, i) { out.setInt32(i * 4, word, false); });
    return new Uint8Array(out.buffer);
  }

  // --- the three engines, by name; each takes the bytes of one part ----------------------------------------

  var ENGINES = {
    subtle: function (bytes) {
      if (!subtle()) { return Promise.reject(new Error("crypto.subtle is not available here")); }
      return subtle().digest("SHA-256", bytes).then(function (digest) { return toBase64(new Uint8Array(digest)); });
    },
    wasm: function (bytes) {
      return hasher().then(function (wasm) {
        if (!wasm) { throw new Error("WebAssembly (hash-wasm) is not available here"); }
        wasm.init();  // synchronous from init to digest, so one hasher serves every part in turn
        wasm.update(bytes);
        return toBase64(wasm.digest("binary"));
      });
    },
    js: function (bytes) { return Promise.resolve(toBase64(sha256js(bytes))); }
  };

  // The fastest engine this page may run: "subtle", "wasm" or "js".
  function engine() {
    if (subtle()) { return Promise.resolve("subtle"); }
    return hasher().then(function (wasm) { return wasm ? "wasm" : "js"; });
  }

  window.LearnSpaceChecksum = {
    // Base64 SHA-256 of a Blob (a File.slice of one part).
    base64: function (blob) {
      return Promise.all([engine(), readBlob(blob)]).then(function (results) {
        var bytes = new Uint8Array(results[1]);
        return ENGINES[results[0]](bytes).then(null, function (err) {
          // crypto.subtle present but refusing (rare, a browser quirk): the other engines still agree
          if (results[0] !== "subtle") { throw err; }
          return hasher().then(function (wasm) { return ENGINES[wasm ? "wasm" : "js"](bytes); });
        });
      });
    },
    engine: engine,
    // One engine by name on a Uint8Array, base64 (for the browser tests, to check each against the others).
    using: function (name, bytes) { return ENGINES[name](bytes); }
  };
})();
