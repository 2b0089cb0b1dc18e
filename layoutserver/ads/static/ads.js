/* layoutserver ads: fills every <div data-slot="CODE"> of the page with one request for all.
 *
 *   <div data-slot="article-1"></div>
 *   <script src="https://ads.example.com/ads/ads.js" async
 *           data-page-type="article" data-slug="my-story" data-section="world"
 *           data-tags='["china","pakistan"]'></script>
 *
 * Optional attributes: data-device (desktop, tablet, mobile; without it, the viewport's class:
 * narrower than 768 px mobile, than 1024 px tablet, as the server's), data-gdpr-consent (an IAB TCF v2
 * string), data-endpoint (default: "decide" next to this script). The page's own query
 * parameters are sent as key-values. Each slot code is filled once, in its first element.
 * data-tags is a JSON array of strings (a tag may hold a comma); a value that is not one is
 * read as tags separated by commas, the form older pages carry.
 *
 * The slots it fills are measured for viewability, and lazy ones rendered near the viewport, by
 * viewability.js (next to this script), which it loads unless the page has it already.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var data = (script && script.dataset) || {};

  function keyValues() {
    var found = {};
    var count = 0;
    new URLSearchParams(window.location.search).forEach(function (value, key) {
      if (count < 50 && key && !(key in found)) {
        found[key.slice(0, 100)] = value.slice(0, 500);
        count += 1;
      }
    });
    return found;
  }

  // The page's tags as /ads/decide takes them: at most 50, each of at most 100 characters (a
  // longer one could match nothing there, so it is left out rather than cut).
  function tags(text) {
    var found = null;
    if (/^\s*\[/.test(text || "")) {
      try {
        found = JSON.parse(text);
      } catch (error) {
        found = null;
      }
    }
    if (!Array.isArray(found)) {
      found = (text || "").split(",");
    }
    return found
      .filter(function (tag) {
        return typeof tag === "string" && tag && Array.from(tag).length <= 100;
      })
      .slice(0, 50);
  }

  // The breakpoints of layoutserver/render/request_view.py (VIEWPORT_BREAKPOINTS), asked as
  // the stylesheet asks them (layoutserver.css), so the ad is the size its slot reserves.
  function viewportClass() {
    if (window.matchMedia) {
      return window.matchMedia("(max-width: 767.98px)").matches ? "mobile"
        : window.matchMedia("(max-width: 1023.98px)").matches ? "tablet" : "desktop";
    }
    var width = document.documentElement.clientWidth || window.innerWidth;
    return width < 768 ? "mobile" : width < 1024 ? "tablet" : "desktop";
  }

  function endpoint() {
    var url = new URL(data.endpoint || "decide", script ? script.src : window.location.href);
    if (data.gdprConsent) {
      url.searchParams.set("gdpr_consent", data.gdprConsent);
    }
    return url.href;
  }

  function fill() {
    var elements = {};
    document.querySelectorAll("div[data-slot]").forEach(function (element) {
      var code = element.getAttribute("data-slot");
      if (code && !element.hasAttribute("data-ls-filled") && !(code in elements)) {
        elements[code] = element;
      }
    });
    var codes = Object.keys(elements).slice(0, 20);
    if (!codes.length) {
      return;
    }
    var body = {
      page: {
        page_type: data.pageType || "",
        slug: data.slug || "",
        section: data.section || null,
        tags: tags(data.tags),
        path: window.location.pathname,
        key_values: keyValues()
      },
      slots: codes
    };
    body.device = data.device || viewportClass();
    fetch(endpoint(), {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("ads: /ads/decide answered " + response.status);
        }
        return response.json();
      })
      .then(function (answer) {
        var filled = [];
        answer.decisions.forEach(function (decision) {
          var element = elements[decision.slot];
          if (element) {
            element.setAttribute("data-ls-filled", decision.empty ? "empty" : "ad");
            element.innerHTML = decision.html;
            filled.push(element);
          }
        });
        measure(filled);
      })
      .catch(function (error) {
        if (window.console) {
          window.console.warn(error);
        }
      });
  }

  // viewability.js measures the filled slots: now if it runs already, else when it starts (it
  // looks for every slot of the page then): the page's own copy, or one loaded here.
  var loading = false;
  function measure(filled) {
    var viewability = window.layoutserverViewability;
    if (viewability) {
      filled.forEach(function (element) { viewability.scan(element); });
    } else if (!loading && filled.length
               && !document.querySelector("script[src*='viewability.js']")) {
      loading = true;
      var tag = document.createElement("script");
      tag.src = new URL("viewability.js", script ? script.src : window.location.href).href;
      tag.async = true;
      document.head.appendChild(tag);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fill);
  } else {
    fill();
  }
})();
