# Varnish 7 in front of layoutserver (docs/edge.md): a page with per-reader ad spots is kept in
# its shared form and assembled per page view from the reader's frame (one origin request: the
# ads) and the shared parts it includes (kept here); one page-view id and one reader key per
# page view; surrogate-key purges through the xkey vmod (Debian: varnish-modules); stale content
# while the origin refetches or fails; the shared form (ad slots empty) when the frame fails;
# the reader's device class from the viewport's width (the Sec-CH-Viewport-Width client hint)
# or else the User-Agent, in X-Device-Class (the origin's DEVICE_HEADER), which is all a
# response that varies by device is kept by here.
# Start from it; the backend below is `make run`'s address.
vcl 4.1;

import std;
import cookie;
import header;
import xkey;

backend default {
    .host = "127.0.0.1";
    .port = "8000";
    .first_byte_timeout = 5s;
    .probe = {
        .url = "/healthz";
        .interval = 2s;
        .timeout = 2s;
        .window = 5;
        .threshold = 2;
        .initial = 2;
    }
}

# Who may purge: the hosts running layoutserver (setting EDGE_PURGE = ["xkey http://<this>/"]).
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Not allowed to purge"));
        }
        if (!req.http.xkey-purge) {
            return (synth(400, "Name the surrogate keys in xkey-purge"));
        }
        set req.http.n-gone = xkey.purge(req.http.xkey-purge);
        return (synth(200, "Purged " + req.http.n-gone + " objects"));
    }
    if (req.esi_level == 0 && req.restarts == 0) {
        call device_class;
        # This edge names the page view and the reader, and asks for frames: never a client.
        unset req.http.X-Page-View;
        unset req.http.X-User-Key;
        unset req.http.X-New-User-Key;
        unset req.http.X-ESI-Include;
        unset req.http.X-Reader-Frame;
        unset req.http.X-Edge-Fallback;
        set req.http.X-Page-View = server.identity + "-" + std.time2integer(now, 0) + "-"
            + req.xid + "-" + std.real2integer(std.random(0, 999999999999), 0);
        # The reader's first-party key for frequency caps: its ls_uid cookie, or a new one the
        # response stores (vcl_deliver). None when the reader denies storage (the consent
        # header) or gives a TCF string, which the origin reads (it then uses no key).
        cookie.parse(req.http.Cookie);
        if (cookie.get("ls_uid") ~ "^[A-Za-z0-9_.:-]{8,128}$") {
            set req.http.X-User-Key = cookie.get("ls_uid");
        } else if (req.http.X-Storage-Consent !~ "(?i)^\s*(0|no|false|denied|deny|n)\s*$"
                   && req.url !~ "[?&]gdpr_consent=" && !cookie.get("euconsent-v2")) {
            set req.http.X-User-Key = "e" + std.time2integer(now, 0) + "-" + req.xid + "-"
                + std.real2integer(std.random(0, 999999999999), 0);
            set req.http.X-New-User-Key = "1";
        }
    } else if (req.esi_level > 0) {
        # An include of the page view: its id, the reader's key and device from the page.
        set req.http.X-ESI-Include = "1";
        set req.http.X-Device-Class = req_top.http.X-Device-Class;
        set req.http.X-Page-View = req_top.http.X-Page-View;
        if (req_top.http.X-User-Key) {
            set req.http.X-User-Key = req_top.http.X-User-Key;
        } else {
            unset req.http.X-User-Key;
        }
        if (req.url !~ "^/parts/") {
            # A page's region or widget in a template of the site's own: the reader's (a
            # frame, for a region with ad spots).
            set req.http.Surrogate-Capability = "varnish=ESI/1.0";
            set req.http.X-Reader-Frame = "1";
            return (pass);
        }
        # A shared part of a frame: looked up like any shared response, below.
    }
    if (req.http.X-Reader-Frame) {
        # The reader's frame of a page whose shared form is kept here (vcl_deliver): ads
        # decided for this page view, the shared parts as includes. Never kept.
        set req.http.Surrogate-Capability = "varnish=ESI/1.0";
        return (pass);
    }
    set req.http.Surrogate-Capability = "varnish=ESI/1.0";
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    if (req.url ~ "^/(admin|api)(/|$)" || req.url ~ "^/ads/(i|c|decide|explain)(/|$|\?)"
        || req.http.Authorization) {
        return (pass);
    }
    # Shared responses never depend on cookies (vcl_backend_fetch sends none); the cookie stays
    # on the request for the reader's frame, which reads consent from it.
    # Past its TTL, a response is served while it is refetched for this long (or while the
    # origin is down, as long as it allows: stale-if-error).
    if (std.healthy(req.backend_hint)) {
        set req.grace = 30s;
    }
    return (hash);
}

# The reader's device class, as the origin works it out (layoutserver/render/request_view.py):
# from the viewport's width when the browser sends it (narrower than 768 px mobile, than 1024 px
# tablet), else from the User-Agent. A class already stated (a CDN in front of this edge) is
# kept: it only picks which of the device's copies the request gets.
sub device_class {
    if (req.http.X-Device-Class ~ "^(desktop|tablet|mobile)$") {
        return;
    }
    if (req.http.Sec-CH-Viewport-Width ~ "^\s*\d{1,6}\s*$") {
        if (std.integer(s=regsuball(req.http.Sec-CH-Viewport-Width, "\s", ""), fallback=0)
            < 768) {
            set req.http.X-Device-Class = "mobile";
        } else if (std.integer(s=regsuball(req.http.Sec-CH-Viewport-Width, "\s", ""),
                               fallback=0) < 1024) {
            set req.http.X-Device-Class = "tablet";
        } else {
            set req.http.X-Device-Class = "desktop";
        }
    } else if (req.http.User-Agent ~ "(?i)ipad|tablet|kindle|silk|playbook"
               || (req.http.User-Agent ~ "(?i)android" && req.http.User-Agent !~ "(?i)mobile")) {
        set req.http.X-Device-Class = "tablet";
    } else if (req.http.User-Agent
               ~ "(?i)mobi|iphone|ipod|android|blackberry|opera mini|windows phone") {
        set req.http.X-Device-Class = "mobile";
    } else {
        set req.http.X-Device-Class = "desktop";
    }
}

sub vcl_backend_fetch {
    if (!bereq.uncacheable) {
        # What is fetched to be kept is shared: nothing of the reader who happened to ask.
        unset bereq.http.Cookie;
        unset bereq.http.X-User-Key;
        unset bereq.http.X-New-User-Key;
        unset bereq.http.X-Page-View;
    } else if (!bereq.http.X-ESI-Include) {
        # A page's frame decides all its ads at once: no page view to share a decision with.
        unset bereq.http.X-Page-View;
    }
    if (bereq.http.X-ESI-Include || bereq.http.X-Reader-Frame) {
        set bereq.first_byte_timeout = 2s;
    }
}

sub vcl_backend_response {
    if (beresp.status >= 500 && bereq.is_bgfetch) {
        # Keep serving the stale copy rather than an error (stale-if-error).
        return (abandon);
    }
    if (beresp.http.Surrogate-Control ~ "ESI/1\.0") {
        set beresp.do_esi = true;
    }
    if (beresp.http.Vary ~ "(?i)(^|,)\s*X-Device-Class\s*(,|$)") {
        # A response that varies by device: kept once per device class, which this edge put in
        # X-Device-Class from the hint or the User-Agent, not once per User-Agent string.
        set beresp.http.Vary = regsuball(beresp.http.Vary,
            "(?i)(^|,)\s*(User-Agent|Sec-CH-Viewport-Width)\s*(?=,|$)", "");
        set beresp.http.Vary = regsub(beresp.http.Vary, "^\s*,\s*", "");
    }
    if (beresp.http.Surrogate-Control ~ "max-age=\d+") {
        # The edge TTL; the Cache-Control beside it is for browsers (no-store for pages
        # assembled per reader).
        set beresp.ttl = std.duration(regsub(beresp.http.Surrogate-Control,
                                             "^.*max-age=(\d+).*$", "\1s"), 0s);
        set beresp.uncacheable = false;
    }
    if (beresp.http.Surrogate-Control ~ "stale-if-error=\d+") {
        set beresp.grace = std.duration(regsub(beresp.http.Surrogate-Control,
                                               "^.*stale-if-error=(\d+).*$", "\1s"), 0s);
    } else if (beresp.http.Cache-Control ~ "stale-if-error=\d+") {
        set beresp.grace = std.duration(regsub(beresp.http.Cache-Control,
                                               "^.*stale-if-error=(\d+).*$", "\1s"), 0s);
    }
}

sub vcl_backend_error {
    # A connection the origin closed as it was reused, or a moment of overload: once more
    # (GET and HEAD only; a tracking beacon counts its token once however often it comes).
    if (bereq.retries < 1 && (bereq.method == "GET" || bereq.method == "HEAD")) {
        return (retry);
    }
    if (bereq.http.X-ESI-Include) {
        # A failed include leaves its slot empty, never an error page inside the page.
        set beresp.status = 200;
        set beresp.http.Cache-Control = "no-store";
        synthetic("");
        set beresp.ttl = 0s;
        set beresp.uncacheable = true;
        return (deliver);
    }
}

sub vcl_deliver {
    if (req.esi_level > 0) {
        if (resp.status >= 400) {
            return (synth(200));
        }
        return (deliver);
    }
    if (resp.http.X-Reader-Frame && req.method == "GET" && !req.http.X-Reader-Frame
        && !req.http.X-Edge-Fallback && std.healthy(req.backend_hint)) {
        # The shared form of a page with ad spots: ask for this reader's frame.
        set req.http.X-Reader-Frame = "1";
        return (restart);
    }
    if (req.http.X-Reader-Frame && resp.status >= 500) {
        # No frame (the origin failed or timed out): the shared form, its ad slots empty.
        unset req.http.X-Reader-Frame;
        set req.http.X-Edge-Fallback = "1";
        return (restart);
    }
    if (resp.http.Vary ~ "(?i)(^|,)\s*X-Device-Class\s*(,|$)") {
        # What a browser or a cache behind this edge sends: the hint and the User-Agent.
        set resp.http.Vary = regsub(resp.http.Vary, "(?i)X-Device-Class",
                                    "X-Device-Class, Sec-CH-Viewport-Width, User-Agent");
    }
    unset resp.http.X-Reader-Frame;
    unset resp.http.Surrogate-Control;
    unset resp.http.Surrogate-Key;
    unset resp.http.xkey;
    if (req.http.X-New-User-Key && resp.http.Content-Type ~ "^text/html") {
        header.append(resp.http.Set-Cookie, "ls_uid=" + req.http.X-User-Key
            + "; Max-Age=34128000; Path=/; HttpOnly; SameSite=Lax");
    }
}

sub vcl_synth {
    if (req.esi_level > 0) {
        set resp.status = 200;
        set resp.body = "";
        return (deliver);
    }
}
