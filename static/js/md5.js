// MD5 of a Blob, base64-encoded (the form of a Content-MD5 header), for upload.js.
//
// Uses hash-wasm (static/vendor/hash-wasm, loaded before this file) when WebAssembly may run; falls back
// to the small plain-JavaScript MD5 below when it may not (an old browser, or one whose CSP support
// predates 'wasm-unsafe-eval'). Neither needs a secure context: crypto.subtle is missing on plain http
// (a school LAN) and has no MD5 anyway.
(function () {
  "use strict";

  var wasmHasher = null; // promise of a hash-wasm MD5 hasher, or of null when WebAssembly is unavailable

  function hasher() {
    if (!wasmHasher) {
      var lib = window.hashwasm;
      wasmHasher = lib && window.WebAssembly && lib.createMD5 ?
        lib.createMD5().then(null, function () { return null; }) : Promise.resolve(null);
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

  // --- plain JavaScript MD5 (RFC 1321) over a Uint8Array; returns the 16 digest bytes -----------------

  var SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
  var K = new Int32Array(64);
  for (var k = 0; k < 64; k++) { K[k] = Math.floor(Math.abs(Math.sin(k + 1)) * 4294967296) | 0; }

  function md5js(bytes) {
    var length = bytes.length;
    var padded = (((length + 8) >>> 6) + 1) * 64;
    var buffer = new Uint8Array(padded);
    buffer.set(bytes);
    buffer[length] = 0x80;
    var view = new DataView(buffer.buffer);
    view.setUint32(padded - 8, (length * 8) >>> 0, true);
    view.setUint32(padded - 4, Math.floor(length / 536870912), true); // length * 8 / 2^32
    var a0 = 0x67452301, b0 = 0xefcdab89 | 0, c0 = 0x98badcfe | 0, d0 = 0x10325476;
    var M = new Int32Array(16);
    for (var offset = 0; offset < padded; offset += 64) {
      for (var j = 0; j < 16; j++) { M[j] = view.getInt32(offset + j * 4, true); }
      var A = a0, B = b0, C = c0, D = d0;
      for (var i = 0; i < 64; i++) {
        var F, g;
        if (i < 16) { F = (B & C) | (~B & D); g = i; }
        else if (i < 32) { F = (D & B) | (~D & C); g = (5 * i + 1) & 15; }
        else if (i < 48) { F = B ^ C ^ D; g = (3 * i + 5) & 15; }
        else { F = C ^ (B | ~D); g = (7 * i) & 15; }
        F = (F + A + K[i] + M[g]) | 0;
        A = D; D = C; C = B;
        var s = SHIFTS[(i >> 4) * 4 + (i & 3)];
        B = (B + ((F << s) | (F >>> (32 - s)))) | 0;
      }
      a0 = (a0 + A) | 0; b0 = (b0 + B) | 0; c0 = (c0 + C) | 0; d0 = (d0 + D) | 0;
    }
    var out = new DataView(new ArrayBuffer(16));
    out.setInt32(0, a0, true); out.setInt32(4, b0, true); out.setInt32(8, c0, true); out.setInt32(12, d0, true);
    return new Uint8Array(out.buffer);
  }

  window.LearnSpaceMD5 = {
    // Base64 MD5 of a Blob (a File.slice of one part).
    base64: function (blob) {
      return Promise.all([hasher(), readBlob(blob)]).then(function (results) {
        var wasm = results[0], bytes = new Uint8Array(results[1]);
        if (wasm) {
          wasm.init();  // synchronous from init to digest, so one hasher serves every part in turn
          wasm.update(bytes);
          return toBase64(wasm.digest("binary"));
        }
        return toBase64(md5js(bytes));
      });
    },
    // Which implementation runs here: "wasm" or "js" (for the browser tests).
    engine: function () { return hasher().then(function (wasm) { return wasm ? "wasm" : "js"; }); },
    // The plain JavaScript one, base64 (for the browser tests, to check it against hash-wasm).
    plain: function (bytes) { return toBase64(md5js(bytes)); }
  };
})();
