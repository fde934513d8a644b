/* Installed by `python -m autoresearch.dashboard` (autoresearch/dashboard.py), loaded by
   index.html after jQuery and before asv.js.

   asv's pages fetch their data (info.json, index.json, regressions.json, graphs/**.json) with
   $.ajax, i.e. XMLHttpRequest, which browsers refuse for file:// URLs. A plain <script src>
   does load from file://, so the build writes each JSON file again as a script,
   file-data/<path>.js, that hands its text to asvFileData(). Opened from file://, this adds a
   jQuery transport that answers asv's requests for those files by loading that script instead
   of an XHR. Over http(s) it does nothing, and asv fetches the JSON files as usual. */
(function ($) {
    "use strict";
    if (!$ || window.location.protocol !== "file:") {
        return;
    }

    var base = new URL(".", window.location.href); // the directory holding index.html
    var received = {}; // path -> JSON text, set by a data script, taken by its load handler

    window.asvFileData = function (path, text) {
        received[path] = text;
    };

    // The path of a request under the dashboard directory, percent-encoded as in the URL
    // (the script's URL) and decoded (the key its data script passes); null for anything else.
    function relative(url) {
        var target = new URL(url, document.baseURI);
        if (target.protocol !== "file:" || target.pathname.indexOf(base.pathname) !== 0) {
            return null;
        }
        var encoded = target.pathname.slice(base.pathname.length);
        return {encoded: encoded, path: decodeURIComponent(encoded)};
    }

    function scriptTransport(rel) {
        var script = null;
        return {
            send: function (headers, complete) {
                script = document.createElement("script");
                script.src = new URL("file-data/" + rel.encoded + ".js", base).href;
                script.onload = script.onerror = function (event) {
                    var text = received[rel.path];
                    delete received[rel.path];
                    script.onload = script.onerror = null;
                    script.remove();
                    script = null;
                    if (event.type === "load" && typeof text === "string") {
                        // Handing jQuery the text (not an object) keeps its own JSON parsing,
                        // exactly as for an XHR response.
                        complete(200, "OK", {text: text});
                    } else {
                        // No data script: asv wrote no such file (e.g. no graph for a
                        // benchmark without results); asv handles it as it does a 404.
                        complete(404, "Not Found");
                    }
                };
                document.head.appendChild(script);
            },
            abort: function () {
                if (script) {
                    script.onload = script.onerror = null;
                    script.remove();
                    script = null;
                }
            }
        };
    }

    // Answers a request that needs no data: asv's "is the web server still up?" probe.
    function aliveTransport() {
        var timer = null;
        return {
            send: function (headers, complete) {
                timer = setTimeout(function () {
                    complete(200, "OK", {text: ""});
                }, 0);
            },
            abort: function () {
                clearTimeout(timer);
            }
        };
    }

    // "+*": ahead of jQuery's XHR transport, for every dataType.
    $.ajaxTransport("+*", function (options) {
        if (options.type !== "GET") {
            return undefined;
        }
        var rel = relative(options.url);
        if (rel === null) {
            return undefined;
        }
        if (/\.json$/.test(rel.path)) {
            return scriptTransport(rel);
        }
        // graphdisplay.js fetches swallow.ico when no graph data loaded, to tell "no data"
        // from "server down". There is no server to be down: the page came from the same files.
        if (rel.path === "swallow.ico") {
            return aliveTransport();
        }
        return undefined;
    });
})(window.jQuery);
