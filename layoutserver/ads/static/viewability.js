/* layoutserver ads: lazy slots rendered near the viewport, and viewability measured by the MRC
 * rules, for every ad spot of the page (rendered by the server, or filled by ads.js).
 *
 * An ad spot is <div class="ad-spot" data-ad-size="WxH" data-ad-view="URL">; its creative is in
 * its .ad-spot__box. A lazy slot's box holds the creative and its impression beacon in a
 * <template class="ad-spot__later">: they are put in the page when the slot comes within
 * LAZY_MARGIN of the viewport, so the impression is counted when the creative begins to render.
 *
 * Viewability (docs/viewability.md): once the impression beacon has been answered (or at once
 * for a slot counted on render), the impression is measurable: "?s=m" is sent to its URL. It is
 * viewable when at least half of the creative's pixels (30 % for a creative of 242,500 px or
 * more) are in the viewport for one continuous second while the page is visible
 * (document.visibilityState): scrolling it out, or hiding the tab, stops the clock, and the
 * second starts again from nothing. Then the URL is sent without "?s=m". Each is sent once per
 * impression; the server counts each once per token whatever is sent again. A beacon that
 * fails (no answer, or a 5xx) is sent again a few times.
 *
 * Without IntersectionObserver nothing is measured (and a lazy slot is rendered at once).
 * Loaded twice (the ad spot's script, and by ads.js), the second copy only looks for new spots.
 * window.layoutserverViewability.scan(element) measures the spots inside element (ads.js calls
 * it for the slots it fills).
 */
(function () {
  "use strict";
  if (window.layoutserverViewability) {
    window.layoutserverViewability.scan(document);
    return;
  }

  var LAZY_MARGIN = "100% 0px";
  var SECOND = 1000;
  var LARGE_AREA = 242500;
  var RETRIES = [1000, 4000, 16000];
  var measured = typeof window.IntersectionObserver === "function";
  var watched = [];
  var lazyObserver = measured
    ? new IntersectionObserver(nearViewport, { rootMargin: LAZY_MARGIN })
    : null;
  var viewObserver = measured
    ? new IntersectionObserver(inView, { threshold: [0, 0.3, 0.5, 1] })
    : null;

  function scan(root) {
    var spots = root.querySelectorAll ? root.querySelectorAll(".ad-spot[data-ad-view]") : [];
    Array.prototype.forEach.call(spots, start);
  }

  function start(spot) {
    if (spot.hasAttribute("data-ad-viewability")) {
      return;
    }
    spot.setAttribute("data-ad-viewability", "waiting");
    var later = spot.querySelector("template.ad-spot__later");
    if (later && lazyObserver) {
      lazyObserver.observe(spot);
    } else {
      render(spot);
    }
  }

  function nearViewport(entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) {
        lazyObserver.unobserve(entry.target);
        render(entry.target);
      }
    });
  }

  // A lazy slot's creative and beacon into the page; then measured once the impression counts.
  function render(spot) {
    var later = spot.querySelector("template.ad-spot__later");
    if (later) {
      later.parentNode.replaceChild(document.importNode(later.content, true), later);
    }
    var beacon = spot.querySelector("img.ad-spot__beacon");
    if (!beacon) {
      measure(spot);
    } else if (beacon.complete) {
      counted(spot, beacon);
    } else {
      beacon.addEventListener("load", function () { counted(spot, beacon); });
      beacon.addEventListener("error", function () { counted(spot, beacon); });
    }
  }

  function counted(spot, beacon) {
    if (beacon.naturalWidth > 0) {
      measure(spot);
    } else {
      spot.setAttribute("data-ad-viewability", "not counted");
    }
  }

  function measure(spot) {
    var url = spot.getAttribute("data-ad-view");
    var box = spot.querySelector(".ad-spot__box");
    if (!viewObserver || !url || !box) {
      spot.setAttribute("data-ad-viewability", "not measured");
      return;
    }
    var size = (spot.getAttribute("data-ad-size") || "").split("x");
    var area = Number(size[0]) * Number(size[1]);
    var watch = { spot: spot, box: box, url: url, share: area >= LARGE_AREA ? 0.3 : 0.5,
                  visible: false, since: 0, timer: null };
    watched.push(watch);
    spot.setAttribute("data-ad-viewability", "measuring");
    send(url + (url.indexOf("?") < 0 ? "?" : "&") + "s=m", 0);
    viewObserver.observe(box);
  }

  function inView(entries) {
    entries.forEach(function (entry) {
      var watch = find(entry.target);
      if (!watch) {
        return;
      }
      var visible = entry.isIntersecting && entry.intersectionRatio >= watch.share;
      if (visible && !watch.visible) {
        watch.since = entry.time;
      }
      watch.visible = visible;
      clock(watch);
    });
  }

  function find(box) {
    for (var n = 0; n < watched.length; n += 1) {
      if (watched[n].box === box) {
        return watched[n];
      }
    }
    return null;
  }

  // The clock runs while the creative is in view and the page visible; anything else stops
  // it, and the continuous second starts again.
  function clock(watch) {
    if (watch.timer !== null) {
      window.clearTimeout(watch.timer);
      watch.timer = null;
    }
    if (!watch.visible || document.visibilityState !== "visible") {
      return;
    }
    var left = SECOND - (window.performance.now() - watch.since);
    watch.timer = window.setTimeout(function () { tick(watch); }, Math.max(left, 0));
  }

  function tick(watch) {
    watch.timer = null;
    if (!watch.visible || document.visibilityState !== "visible") {
      return;
    }
    if (window.performance.now() - watch.since < SECOND) {
      clock(watch);
      return;
    }
    viewObserver.unobserve(watch.box);
    watched.splice(watched.indexOf(watch), 1);
    watch.spot.setAttribute("data-ad-viewability", "viewable");
    send(watch.url, 0);
  }

  document.addEventListener("visibilitychange", function () {
    var now = window.performance.now();
    watched.forEach(function (watch) {
      if (document.visibilityState === "visible" && watch.visible) {
        watch.since = now;
      }
      clock(watch);
    });
  });

  function send(url, attempt) {
    function again() {
      if (attempt < RETRIES.length) {
        window.setTimeout(function () { send(url, attempt + 1); }, RETRIES[attempt]);
      }
    }
    if (!window.fetch) {
      new Image().src = url;
      return;
    }
    window.fetch(url, { mode: "no-cors", credentials: "omit", cache: "no-store",
                        keepalive: true })
      .then(function (response) {
        if (response.type !== "opaque" && response.status >= 500) {
          again();
        }
      }, again);
  }

  window.layoutserverViewability = { scan: scan };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(document); });
  } else {
    scan(document);
  }
})();
