/* The farmer's web app service worker, served at /sw.js by traceability.offline_views.service_worker
   (this file is a Django template: the values below are filled in there).

   - Static files: stored when the worker installs, answered from the phone.
   - The farmer's pages (/ and /batches/...): from the network when it answers within a few
     seconds, and kept; from the phone's copy when there is no signal. A lot's record form that is
     not on the phone is answered with the form of that kind for any lot (/batches/record/<kind>/),
     which offline/app.js fills in; any other page with the outbox page.
   - Records are never sent from here except on a Background Sync event (where the browser has
     it): offline/outbox.js, shared with the pages, sends them in order. */
"use strict";

var VERSION = {{ version|safe }};
var ASSETS = {{ assets|safe }};
var STATIC_PREFIX = {{ static_prefix|safe }};
var KINDS = {{ kinds|safe }};
var STATIC_CACHE = "farm-static-" + VERSION;
var PAGE_CACHE = "farm-pages";
var DATA_CACHE = "farm-data";
var NETWORK_WAIT = 5000;

importScripts({{ outbox_js|safe }});

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(STATIC_CACHE).then(function (cache) {
      return cache.addAll(ASSETS);
    }).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("farm-static-") === 0 && name !== STATIC_CACHE;
      }).map(function (name) {
        return caches.delete(name);
      }));
    }).then(function () {
      return self.clients.claim();
    })
  );
});

function isFarmerPage(path) {
  return path === "/" || (path.indexOf("/batches/") === 0 && path.indexOf("/batches/import/") !== 0);
}

// The network's answer, or a rejection after NETWORK_WAIT (the answer may still come and be kept).
// Kept under the address without ?fix=, ?saved= or ?batch=: those pages are the same page.
function keyOf(url) {
  return /[?&](saved|fix|batch)=/.test(url.search) ? url.origin + url.pathname : url.href;
}

function fromNetwork(request, keep) {
  var fetched = fetch(request).then(function (response) {
    if (keep && response.ok && !response.redirected && response.type === "basic") {
      var copy = response.clone();
      caches.open(keep).then(function (cache) {
        return cache.put(keyOf(new URL(request.url)), copy);
      });
    }
    return response;
  });
  var timeout = new Promise(function (resolve, reject) {
    setTimeout(function () {
      reject(new Error("slow network"));
    }, NETWORK_WAIT);
  });
  return Promise.race([fetched, timeout]);
}

function fromPhone(cacheName, url) {
  return caches.open(cacheName).then(function (cache) {
    return cache.match(url, { ignoreSearch: true, ignoreVary: true });
  });
}

// A page that is not on the phone: the record form of its kind, else the outbox page.
function standIn(path) {
  var match = /^\/batches\/.+\/record\/([a-z_]+)\/$/.exec(path);
  var kind = match && KINDS.indexOf(match[1]) >= 0 ? match[1] : null;
  var first = kind ? fromPhone(PAGE_CACHE, "/batches/record/" + kind + "/") : Promise.resolve(undefined);
  return first.then(function (page) {
    return page || fromPhone(PAGE_CACHE, "/batches/outbox/");
  });
}

function page(request) {
  var url = new URL(request.url);
  return fromNetwork(request, PAGE_CACHE).catch(function () {
    return fromPhone(PAGE_CACHE, url.href).then(function (kept) {
      return kept || standIn(url.pathname);
    }).then(function (kept) {
      return kept || Response.error();
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") {
    return;
  }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (url.pathname.indexOf(STATIC_PREFIX) === 0) {
    event.respondWith(
      caches.match(request, { ignoreVary: true }).then(function (kept) {
        return kept || fetch(request);
      })
    );
  } else if (url.pathname === "/batches/outbox/data.json") {
    event.respondWith(
      fromNetwork(request, DATA_CACHE).catch(function () {
        return fromPhone(DATA_CACHE, url.href).then(function (kept) {
          return kept || Response.error();
        });
      })
    );
  } else if (request.mode === "navigate" && isFarmerPage(url.pathname)) {
    event.respondWith(page(request));
  }
});

self.addEventListener("sync", function (event) {
  if (event.tag === "farm-outbox") {
    event.waitUntil(self.FarmOutbox.send({}));
  }
});
