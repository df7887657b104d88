// The drawing pad of /seal-pictures/new?kind=drawing: a hand-drawn personal name seal drawn with
// any pointer (mouse, pen, finger — the canvas has touch-action: none), cleared, and submitted as a
// PNG through the page's own file input, so the form posts as it would without script (where the
// reader chooses a PNG file instead). Served as a static file: the CSP forbids inline script.
(function () {
  "use strict";
  var form = document.getElementById("picture-form");
  var pad = document.getElementById("pad");
  var input = document.getElementById("file");
  if (!form || !pad || !input || !pad.getContext) {
    return;
  }
  var ctx = pad.getContext("2d");
  var drawn = false;
  var last = null;

  function pen() {
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#000";
    // About 2.5 % of the pad: a firm brush stroke once fitted into the seal's square.
    ctx.lineWidth = Math.max(4, pad.width / 40);
  }

  function at(e) {
    var r = pad.getBoundingClientRect();
    return {
      x: ((e.clientX - r.left) * pad.width) / r.width,
      y: ((e.clientY - r.top) * pad.height) / r.height,
    };
  }

  function dot(p) {
    ctx.beginPath();
    ctx.arc(p.x, p.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fillStyle = "#000";
    ctx.fill();
  }

  pen();
  pad.addEventListener("pointerdown", function (e) {
    e.preventDefault();
    if (pad.setPointerCapture) {
      try {
        pad.setPointerCapture(e.pointerId);
      } catch (err) {
        // Synthetic or already released pointers cannot be captured; drawing still works.
      }
    }
    last = at(e);
    dot(last);
    drawn = true;
    var out = document.getElementById("pad-message");
    if (out) {
      out.hidden = true;
    }
  });
  pad.addEventListener("pointermove", function (e) {
    if (!last) {
      return;
    }
    e.preventDefault();
    var p = at(e);
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
    last = p;
  });
  function end() {
    last = null;
  }
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);
  pad.addEventListener("pointerleave", end);

  var clear = document.getElementById("pad-clear");
  if (clear) {
    clear.addEventListener("click", function () {
      ctx.clearRect(0, 0, pad.width, pad.height);
      pen();
      drawn = false;
    });
  }

  var sending = false;
  form.addEventListener("submit", function (e) {
    if (sending) {
      return;
    }
    if (!drawn) {
      if (input.files && input.files.length > 0) {
        return; // a chosen PNG goes as it is
      }
      e.preventDefault();
      var msg = form.getAttribute("data-empty");
      var out = document.getElementById("pad-message");
      if (out && msg) {
        out.textContent = msg;
        out.hidden = false;
      }
      return;
    }
    e.preventDefault();
    pad.toBlob(function (blob) {
      var dt = new DataTransfer();
      dt.items.add(new File([blob], "drawing.png", { type: "image/png" }));
      input.files = dt.files;
      sending = true;
      form.submit();
    }, "image/png");
  });
})();
