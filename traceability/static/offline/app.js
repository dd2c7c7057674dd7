/* The farmer's pages with or without signal (docs/guides/farmer.md). Loaded on every page;
   does its work on the pages of a village member, which carry <div id="offline"> with the
   signed-in person's id and the translated words this script shows (templates/farms/_offline.html).

   - Registers the service worker (/sw.js) and keeps a copy of the farmer's pages and lots.
   - The record forms (form[data-outbox]) save into the phone's outbox (offline/outbox.js) and
     then send it; with JavaScript off they post to the server as before.
   - Shows what waits, what was sent and what was refused: a bar on every page, the outbox page,
     and a lot's records not yet sent on its page.
   No inline script, no eval: it runs under a Content-Security-Policy of script-src 'self'. */
(function () {
  "use strict";

  var PAGE_CACHE = "farm-pages";
  var DATA_CACHE = "farm-data";
  var DATA_URL = "/batches/outbox/data.json";
  var OUTBOX_URL = "/batches/outbox/";
  var USER_KEY = "farm-offline-user";
  var WARM_KEY = "farm-offline-warm";
  var FLASH_KEY = "farm-offline-flash";
  var WARM_EVERY = 60 * 60 * 1000; // about 30 small pages: hourly is fresh enough and spares the signal
  var WARM_LOTS = 20;
  var PHOTO_LONGEST_SIDE = 1600;
  var PHOTO_QUALITY = 0.8;
  var WAIT_FOR_SEND = 15000;

  var root = document.getElementById("offline");
  var outbox = window.FarmOutbox;
  var user = root ? root.getAttribute("data-user") : null;
  var timer = null;
  var lastReport = null;

  function storage(name) {
    try {
      return window.localStorage.getItem(name);
    } catch (unavailable) {
      return null;
    }
  }

  function store(name, value) {
    try {
      if (value === null) {
        window.localStorage.removeItem(name);
      } else {
        window.localStorage.setItem(name, value);
      }
    } catch (unavailable) {
      /* private browsing: nothing to remember */
    }
  }

  // The phone keeps one person's pages: another person (or nobody) signed in forgets them.
  function forgetPagesUnlessMine() {
    if (storage(USER_KEY) === user) {
      return Promise.resolve(false);
    }
    store(USER_KEY, user);
    store(WARM_KEY, null);
    if (!("caches" in window)) {
      return Promise.resolve(true);
    }
    return Promise.all([caches.delete(PAGE_CACHE), caches.delete(DATA_CACHE)]).then(function () {
      return true;
    });
  }

  if (!root) {
    forgetPagesUnlessMine();
    return;
  }
  if (!outbox || !("indexedDB" in window)) {
    return; // the forms post to the server as they do with JavaScript off
  }

  // ---------------------------------------------------------------------------------------------
  // Words and small helpers

  function t(key, params) {
    var text = root.getAttribute("data-t-" + key) || key;
    Object.keys(params || {}).forEach(function (name) {
      text = text.split("%(" + name + ")s").join(String(params[name]));
    });
    return text;
  }

  function kindLabel(kind) {
    return root.getAttribute("data-kind-" + kind) || kind;
  }

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      if (name === "text") {
        node.textContent = attributes[name];
      } else {
        node.setAttribute(name, attributes[name]);
      }
    });
    (children || []).forEach(function (child) {
      if (child) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  // "2026-06-12T08:00" in the phone's time zone, for a datetime-local field.
  function localInputValue(date) {
    return (
      date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      "T" + pad(date.getHours()) + ":" + pad(date.getMinutes())
    );
  }

  function shown(iso) {
    return iso ? localInputValue(new Date(iso)).replace("T", " ") : "";
  }

  // A datetime-local value as an ISO time with the phone's offset: "2026-06-12T08:00:00+08:00".
  function isoWithOffset(value) {
    var date = new Date(value);
    var offset = -date.getTimezoneOffset();
    var sign = offset >= 0 ? "+" : "-";
    offset = Math.abs(offset);
    return value.length === 16 ? value + ":00" + sign + pad(Math.floor(offset / 60)) + ":" + pad(offset % 60) : date.toISOString();
  }

  function provisionalLabel(record) {
    return t("provisional") + " " + record.id.slice(0, 4).toUpperCase();
  }

  function lotPath(lot) {
    return "/batches/" + lot + "/";
  }

  function params() {
    var result = {};
    location.search.replace(/^\?/, "").split("&").forEach(function (pair) {
      if (pair) {
        var parts = pair.split("=");
        result[decodeURIComponent(parts[0])] = decodeURIComponent((parts[1] || "").replace(/\+/g, " "));
      }
    });
    return result;
  }

  function flash(text) {
    try {
      window.sessionStorage.setItem(FLASH_KEY, text);
    } catch (unavailable) {
      /* the next page just shows no message */
    }
  }

  function showFlash() {
    var text = null;
    try {
      text = window.sessionStorage.getItem(FLASH_KEY);
      window.sessionStorage.removeItem(FLASH_KEY);
    } catch (unavailable) {
      return;
    }
    if (text) {
      var main = document.querySelector("main");
      main.insertBefore(el("ul", { class: "messages" }, [el("li", { class: "success", text: text })]), main.firstChild);
    }
  }

  function mine(records) {
    return records.filter(function (record) {
      return record.user === user;
    });
  }

  // ---------------------------------------------------------------------------------------------
  // The lots, farms, fields and crops kept for offline use

  var dataPromise = null;

  function loadData() {
    if (!dataPromise) {
      dataPromise = fetch(DATA_URL, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok || response.redirected) {
            throw new Error("no data");
          }
          var copy = response.clone();
          if ("caches" in window) {
            caches.open(DATA_CACHE).then(function (cache) {
              cache.put(DATA_URL, copy);
            });
          }
          return response.json();
        })
        .catch(function () {
          return "caches" in window
            ? caches.match(DATA_URL, { ignoreVary: true }).then(function (kept) {
                return kept ? kept.json() : null;
              })
            : null;
        })
        .then(function (data) {
          return data && String(data.user) === user ? data : null;
        });
    }
    return dataPromise;
  }

  function lotInfo(data, lot) {
    var found = null;
    (data ? data.lots : []).forEach(function (item) {
      if (item.lot_code === lot) {
        found = item;
      }
    });
    return found;
  }

  function cropName(data, id) {
    var name = "";
    (data ? data.crops : []).forEach(function (crop) {
      if (crop.id === id) {
        name = crop.name;
      }
    });
    return name;
  }

  // Keeps the farmer's pages on the phone: the lists, the forms of every kind and the latest lots.
  function warm(force) {
    if (!("caches" in window) || navigator.onLine === false) {
      return Promise.resolve();
    }
    var last = Number(storage(WARM_KEY) || 0);
    if (!force && Date.now() - last < WARM_EVERY) {
      return Promise.resolve();
    }
    var kinds = (root.getAttribute("data-kinds") || "").split(" ").filter(Boolean);
    return loadData().then(function (data) {
      var urls = ["/", "/batches/", "/batches/new/", OUTBOX_URL].concat(
        kinds.map(function (kind) {
          return "/batches/record/" + kind + "/";
        }),
        (data ? data.lots : []).slice(0, WARM_LOTS).map(function (lot) {
          return lotPath(lot.lot_code);
        })
      );
      return caches.open(PAGE_CACHE).then(function (cache) {
        return urls.reduce(function (previous, url) {
          return previous.then(function () {
            return fetch(url, { credentials: "same-origin" }).then(function (response) {
              var html = (response.headers.get("Content-Type") || "").indexOf("text/html") === 0;
              if (response.ok && !response.redirected && html) {
                return cache.put(url, response);
              }
            });
          });
        }, Promise.resolve());
      });
    }).then(function () {
      store(WARM_KEY, String(Date.now()));
    }, function () {
      /* no signal after all: the next page with signal tries again */
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Sending

  function kick(now) {
    return outbox.send({ now: now }).then(function (report) {
      lastReport = report;
      clearTimeout(timer);
      if (report.nextTryAt) {
        timer = setTimeout(function () {
          kick(false);
        }, Math.max(1000, report.nextTryAt - Date.now()));
      }
      render();
      return report;
    }, function () {
      render();
      return null;
    });
  }

  function askWorkerToSend() {
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.ready.then(function (registration) {
        if (registration.sync) {
          return registration.sync.register("farm-outbox");
        }
      }).catch(function () {
        /* no Background Sync: the pages send when they are open */
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // What waits, what was sent, what was refused

  function detailsOf(record) {
    var p = record.payload || {};
    var data = p.data || {};
    var parts = [];
    if (record.type === "batch") {
      if (record.label) {
        parts.push(record.label);
      }
      parts.push(p.quantity + " " + (root.getAttribute("data-unit-" + p.unit) || p.unit));
    } else {
      if (p.quantity) {
        parts.push(p.quantity + (record.unit ? " " + (root.getAttribute("data-unit-" + record.unit) || record.unit) : ""));
      }
      if (data.temperature_c !== undefined) {
        parts.push(data.temperature_c + " °C");
      }
      if (data.result) {
        parts.push(t(data.result === "pass" ? "pass" : "fail") + (data.lab ? " · " + data.lab : ""));
      }
      if (data.note) {
        parts.push(data.note);
      }
    }
    return parts.join(" · ");
  }

  function titleOf(record, byId) {
    if (record.type === "batch") {
      var code = record.result && record.result.lot_code;
      return t("new-batch") + " · " + (code || provisionalLabel(record));
    }
    var lot = record.lot;
    if (!lot && record.batchRef) {
      var batch = byId[record.batchRef];
      lot = batch && batch.result && batch.result.lot_code ? batch.result.lot_code : batch ? provisionalLabel(batch) : "";
    }
    return kindLabel(record.payload.kind) + " · " + lot;
  }

  // The server's reason: its field messages, or its message when it gave none (a conflict, a 404).
  function reasonOf(error) {
    var fields = Object.keys(error.fields || {});
    return fields.length && error.code === "invalid" ? "" : error.message;
  }

  function errorLines(error) {
    var lines = [el("strong", { text: (t("refused-reason") + " " + reasonOf(error)).trim() })];
    Object.keys(error.fields || {}).forEach(function (name) {
      var messages = error.fields[name];
      var label = root.getAttribute("data-field-" + name.replace(/_/g, "-")) || name;
      lines.push(el("div", { text: label + ": " + (Array.isArray(messages) ? messages.join(" ") : JSON.stringify(messages)) }));
    });
    return el("div", { class: "outbox-reason" }, lines);
  }

  function fixUrl(record) {
    if (record.page) {
      return record.page + "?fix=" + record.id;
    }
    if (record.type === "batch") {
      return "/batches/new/?fix=" + record.id;
    }
    var base = record.lot ? "/batches/" + record.lot + "/record/" : "/batches/record/";
    return base + record.payload.kind + "/?fix=" + record.id;
  }

  function button(label, action, id, extraClass) {
    return el("button", {
      type: "button",
      class: "btn secondary" + (extraClass ? " " + extraClass : ""),
      "data-action": action,
      "data-id": id,
      text: label,
    });
  }

  function item(record, byId) {
    var lines = [
      el("span", { class: "badge outbox-" + record.state, text: t("state-" + record.state) }),
      " ",
      el("strong", { text: titleOf(record, byId) }),
    ];
    var happened = record.type === "batch" ? record.madeAt : record.payload.occurred_at;
    lines.push(el("div", { class: "muted", text: t("happened", { time: shown(happened) }) }));
    var details = detailsOf(record);
    if (details) {
      lines.push(el("div", { text: details }));
    }
    if (record.photoSize) {
      lines.push(el("div", { class: "muted", text: t("with-photo", { size: Math.round(record.photoSize / 1024) }) }));
    }
    if (outbox.isOpen(record)) {
      var batch = record.batchRef ? byId[record.batchRef] : null;
      if (batch && batch.state !== "sent") {
        lines.push(el("div", { class: "muted", text: t("waits-for-batch", { label: provisionalLabel(batch) }) }));
      }
      if (record.attempts) {
        lines.push(el("div", { class: "muted", text: t("tries", { count: record.attempts, time: shown(new Date(record.nextTryAt).toISOString()).slice(11) }) }));
      }
    }
    if (record.state === "refused" && record.error) {
      lines.push(errorLines(record.error));
      lines.push(el("div", { class: "actions" }, [
        el("a", { class: "btn secondary", href: fixUrl(record), text: t("fix") }),
        button(t("send-again"), "again", record.id),
        button(t("drop"), "drop", record.id, "danger-text"),
      ]));
    }
    if (record.state === "sent") {
      lines.push(el("div", { class: "muted", text: t("sent-at", { time: shown(record.sentAt) }) }));
      var lot = record.result && record.result.lot_code;
      if (lot) {
        lines.push(el("div", {}, [
          record.type === "batch" ? t("lot-code", { lot: "" }) : "",
          el("a", { class: "code", href: lotPath(lot), text: lot }),
        ]));
      }
    }
    if (record.type === "batch" && record.state !== "sent") {
      var kinds = (root.getAttribute("data-kinds") || "").split(" ").filter(Boolean);
      lines.push(el("div", { class: "actions" }, kinds.map(function (kind) {
        return el("a", { class: "btn secondary", href: "/batches/record/" + kind + "/?batch=" + record.id, text: kindLabel(kind) });
      })));
    }
    return el("li", { "data-record": record.id, class: "outbox-" + record.state }, lines);
  }

  function fill(list, records, byId, empty) {
    if (!list) {
      return;
    }
    list.textContent = "";
    records.forEach(function (record) {
      list.appendChild(item(record, byId));
    });
    if (!records.length && empty) {
      list.appendChild(el("li", { class: "muted", text: empty }));
    }
  }

  function renderOutboxPage(records, byId) {
    var page = document.getElementById("outbox");
    if (!page) {
      return;
    }
    var waiting = records.filter(outbox.isOpen);
    var refused = records.filter(function (r) {
      return r.state === "refused";
    });
    var sent = records.filter(function (r) {
      return r.state === "sent";
    }).reverse();
    fill(document.getElementById("outbox-waiting"), waiting, byId, t("nothing-waiting"));
    fill(document.getElementById("outbox-refused"), refused, byId, null);
    document.getElementById("outbox-refused-section").hidden = !refused.length;
    fill(document.getElementById("outbox-sent"), sent, byId, t("nothing-sent"));
    var saved = params().saved;
    if (saved) {
      var notice = document.getElementById("outbox-saved");
      notice.textContent = t("saved");
      notice.hidden = false;
    }
  }

  function renderLots() {
    var list = document.getElementById("outbox-lots");
    if (!list) {
      return;
    }
    loadData().then(function (data) {
      list.textContent = "";
      var note = document.getElementById("outbox-lots-note");
      if (!data) {
        note.textContent = t("no-lots");
        return;
      }
      note.textContent = t("lots-kept-at", { time: shown(data.made_at) });
      var kinds = (root.getAttribute("data-kinds") || "").split(" ").filter(Boolean);
      data.lots.forEach(function (lot) {
        var links = lot.held ? [] : kinds.map(function (kind) {
          return el("a", { class: "btn secondary", href: "/batches/" + lot.lot_code + "/record/" + kind + "/", text: kindLabel(kind) });
        });
        list.appendChild(el("li", {}, [
          el("details", {}, [
            el("summary", {}, [
              el("span", { class: "code", text: lot.lot_code }), " ",
              el("span", { class: "badge " + lot.status, text: lot.status_label }),
              el("div", { class: "muted", text: cropName(data, lot.crop) + " · " + lot.quantity + " " + lot.unit_label }),
            ]),
            el("div", { class: "actions" }, links),
          ]),
        ]));
      });
    });
  }

  function renderPendingOfLot(records, byId) {
    var box = document.getElementById("offline-pending");
    if (!box) {
      return;
    }
    var lot = box.getAttribute("data-lot");
    var pending = records.filter(function (record) {
      return record.state !== "sent" && record.type !== "batch" && record.lot === lot;
    });
    box.textContent = "";
    box.hidden = !pending.length;
    if (pending.length) {
      box.appendChild(el("h2", { text: t("not-sent-yet") }));
      var list = el("ul", { class: "rows" });
      pending.forEach(function (record) {
        list.appendChild(item(record, byId));
      });
      box.appendChild(list);
    }
  }

  function renderBar(records) {
    var waiting = records.filter(outbox.isOpen).length;
    var refused = records.filter(function (r) {
      return r.state === "refused";
    }).length;
    var link = document.getElementById("outbox-link");
    if (!link) {
      var nav = document.querySelector("nav.roles");
      if (nav) {
        link = el("a", { id: "outbox-link", href: OUTBOX_URL });
        nav.appendChild(link);
      }
    }
    if (link) {
      link.textContent = t("on-phone") + (waiting + refused ? " (" + (waiting + refused) + ")" : "");
    }
    var bar = document.getElementById("offline-bar");
    if (!bar) {
      bar = el("div", { id: "offline-bar", class: "offline-bar", role: "status" });
      var main = document.querySelector("main");
      main.insertBefore(bar, main.firstChild);
    }
    var parts = [];
    var signIn = lastReport && lastReport.signIn;
    if (navigator.onLine === false || (lastReport && lastReport.offline)) {
      parts.push(t("no-signal"));
    }
    if (waiting) {
      parts.push(t("waiting-count", { count: waiting }));
    }
    if (refused) {
      parts.push(t("refused-count", { count: refused }));
    }
    bar.textContent = parts.join(" ");
    if (signIn) {
      bar.appendChild(document.createTextNode(" " + t("sign-in") + " "));
      bar.appendChild(el("a", { href: "/accounts/login/?next=" + OUTBOX_URL, id: "sign-in-again", text: t("sign-in-link") }));
    }
    bar.hidden = !bar.textContent;
    if (refused) {
      bar.appendChild(document.createTextNode(" "));
      bar.appendChild(el("a", { href: OUTBOX_URL, text: t("see-outbox") }));
    }
  }

  function renderOthers(all) {
    var others = document.getElementById("outbox-others");
    if (!others) {
      return;
    }
    var count = all.filter(function (record) {
      return record.user !== user && outbox.isOpen(record);
    }).length;
    others.hidden = !count;
    others.textContent = count ? t("others", { count: count }) : "";
  }

  var rendering = null;

  function render() {
    if (rendering) {
      return rendering;
    }
    rendering = outbox.all().then(function (all) {
      rendering = null;
      var records = mine(all);
      var byId = {};
      records.forEach(function (record) {
        byId[record.id] = record;
      });
      renderBar(records);
      renderOutboxPage(records, byId);
      renderPendingOfLot(records, byId);
      renderOthers(all);
    }, function () {
      rendering = null;
    });
    return rendering;
  }

  function onOutboxClick(event) {
    var target = event.target;
    var action = target.getAttribute("data-action");
    var id = target.getAttribute("data-id");
    if (!action || !id) {
      return;
    }
    if (action === "send") {
      kick(true);
    } else if (action === "again") {
      outbox.update(id, { state: "waiting", attempts: 0, nextTryAt: 0, error: null }).then(function () {
        kick(true);
      });
    } else if (action === "drop") {
      outbox.all().then(function (all) {
        var dependents = all.filter(function (record) {
          return record.batchRef === id && record.state !== "sent";
        });
        var question = dependents.length ? t("confirm-drop-batch", { count: dependents.length }) : t("confirm-drop");
        if (window.confirm(question)) {
          outbox.remove([id].concat(dependents.map(function (record) {
            return record.id;
          }))).then(render);
        }
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The record forms

  function shrinkPhoto(file) {
    if (!file || !/^image\//.test(file.type)) {
      return Promise.resolve(file ? { blob: file, name: file.name } : null);
    }
    var decoded = window.createImageBitmap
      ? createImageBitmap(file).catch(function () {
          return null;
        })
      : Promise.resolve(null);
    return decoded.then(function (bitmap) {
      return bitmap || new Promise(function (resolve, reject) {
        var image = new Image();
        var url = URL.createObjectURL(file);
        image.onload = function () {
          URL.revokeObjectURL(url);
          resolve(image);
        };
        image.onerror = function () {
          URL.revokeObjectURL(url);
          reject(new Error("not an image the phone can read"));
        };
        image.src = url;
      });
    }).then(function (image) {
      var width = image.width;
      var height = image.height;
      var scale = Math.min(1, PHOTO_LONGEST_SIDE / Math.max(width, height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          resolve(blob);
        }, "image/jpeg", PHOTO_QUALITY);
      });
    }).then(function (blob) {
      var name = (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
      return blob ? { blob: blob, name: name } : { blob: file, name: file.name };
    }, function () {
      return { blob: file, name: file.name }; // the server says whether it can read it
    });
  }

  function value(form, name) {
    var field = form.elements[name];
    return field ? String(field.value || "").trim() : "";
  }

  function eventPayload(form) {
    var payload = { kind: form.getAttribute("data-kind"), occurred_at: isoWithOffset(value(form, "occurred_at")) };
    if (value(form, "quantity")) {
      payload.quantity = value(form, "quantity");
    }
    var data = {};
    if (value(form, "temperature_c")) {
      data.temperature_c = Number(value(form, "temperature_c"));
    }
    ["result", "lab", "test", "product", "note", "harvester_name", "harvester_phone", "reference_document"].forEach(function (name) {
      if (value(form, name)) {
        data[name] = value(form, name);
      }
    });
    payload.data = data;
    return payload;
  }

  function batchPayload(form) {
    var payload = { farm: Number(value(form, "farm")), crop: Number(value(form, "crop")), unit: value(form, "unit") };
    payload.quantity = value(form, "quantity");
    if (value(form, "field")) {
      payload.field = Number(value(form, "field"));
    }
    ["planted_on", "harvested_on"].forEach(function (name) {
      if (value(form, name)) {
        payload[name] = value(form, name);
      }
    });
    return payload;
  }

  // Whether the farmer changed a field from what the page showed (for a correction, the recorded value).
  function changed(field) {
    if (field.tagName === "SELECT") {
      var option = field.options[field.selectedIndex];
      return Boolean(option) && !option.defaultSelected;
    }
    return field.value !== field.defaultValue;
  }

  // The correction page (farms/batch_correct_form.html, POST /api/v1/events/ with kind=correction):
  // the reason, why, and for wrong details those the farmer changed from the recorded ones.
  function correctionPayload(form) {
    var reason = value(form, "reason");
    var payload = {
      kind: "correction",
      corrects: form.getAttribute("data-corrects"),
      correction_reason: reason,
      note: value(form, "note"),
    };
    if (reason !== "incorrect_data") {
      return payload;
    }
    var when = form.elements.occurred_at;
    if (when && when.value && changed(when)) {
      payload.corrected_occurred_at = isoWithOffset(when.value);
    }
    var data = {};
    ["temperature_c", "result", "lab", "test"].forEach(function (name) {
      var field = form.elements[name];
      if (field && String(field.value).trim() && changed(field)) {
        data[name] = name === "temperature_c" ? Number(field.value) : String(field.value).trim();
      }
    });
    if (Object.keys(data).length) {
      payload.corrected_data = data;
    }
    return payload;
  }

  function optionText(form, name) {
    var field = form.elements[name];
    return field && field.selectedIndex >= 0 ? field.options[field.selectedIndex].text : "";
  }

  // Which lot a form records for: its own, the one in the address, or a batch made on this phone.
  function targetOf(form, fixing) {
    if (fixing) {
      return { lot: fixing.lot || "", batchRef: fixing.batchRef || null };
    }
    if (form.getAttribute("data-lot")) {
      return { lot: form.getAttribute("data-lot"), batchRef: null };
    }
    var query = params();
    if (query.batch) {
      return { lot: "", batchRef: query.batch };
    }
    var match = /^\/batches\/(.+)\/record\/[a-z_]+\/$/.exec(location.pathname);
    return match ? { lot: decodeURIComponent(match[1]), batchRef: null } : null;
  }

  function showStatus(form, text, isError) {
    var status = form.querySelector(".outbox-status");
    if (!status) {
      status = el("div", { class: "outbox-status", role: "status" });
      form.insertBefore(status, form.firstChild);
    }
    status.className = "outbox-status " + (isError ? "form-errors" : "messages-like");
    status.textContent = text;
  }

  function showRefusal(form, error) {
    Array.prototype.forEach.call(form.querySelectorAll(".outbox-field-error"), function (node) {
      node.parentNode.removeChild(node);
    });
    var general = [reasonOf(error)];
    Object.keys(error.fields || {}).forEach(function (name) {
      var messages = error.fields[name];
      var text = Array.isArray(messages) ? messages.join(" ") : JSON.stringify(messages);
      var field = form.elements[name];
      if (field && field.closest) {
        var box = field.closest(".field");
        box.appendChild(el("ul", { class: "errorlist outbox-field-error" }, [el("li", { text: text })]));
      } else {
        general.push((root.getAttribute("data-field-" + name.replace(/_/g, "-")) || name) + ": " + text);
      }
    });
    showStatus(form, t("refused-reason") + " " + general.join(" ").trim(), true);
  }

  function fillForm(form, record) {
    var p = record.payload;
    var values = Object.assign({}, p, p.data || {}, p.corrected_data || {});
    var when = p.occurred_at || p.corrected_occurred_at;
    if (when) {
      values.occurred_at = localInputValue(new Date(when));
    }
    if (p.correction_reason) {
      form.elements.reason.value = p.correction_reason;
    }
    Object.keys(values).forEach(function (name) {
      var field = form.elements[name];
      if (field && field.type !== "file" && field.type !== "hidden" && values[name] !== null && typeof values[name] !== "object") {
        field.value = String(values[name]);
      }
    });
    if (record.photoSize && form.elements.photo) {
      var photo = form.elements.photo.closest(".field");
      photo.appendChild(el("span", { class: "helptext", text: t("photo-kept") }));
    }
  }

  function labelTheLot(form, target) {
    var header = document.querySelector("[data-offline-lot]");
    if (!header || form.getAttribute("data-unit") || !target) {
      return;
    }
    if (target.batchRef) {
      outbox.get(target.batchRef).then(function (batch) {
        header.textContent = batch ? provisionalLabel(batch) + " · " + (batch.label || "") : "";
        form.setAttribute("data-unit", batch ? batch.payload.unit : "");
      });
    } else {
      loadData().then(function (data) {
        var lot = lotInfo(data, target.lot);
        header.textContent = target.lot + (lot ? " · " + cropName(data, lot.crop) : "");
        form.setAttribute("data-unit", lot ? lot.unit : "");
      });
    }
  }

  function lotOf(record) {
    return (record.result && record.result.lot_code) || record.lot;
  }

  function afterSaving(form, record, submit) {
    if (navigator.onLine === false) {
      askWorkerToSend();
      location.assign(OUTBOX_URL + "?saved=" + record.id);
      return;
    }
    var gaveUp = new Promise(function (resolve) {
      setTimeout(resolve, WAIT_FOR_SEND);
    });
    Promise.race([kick(true), gaveUp]).then(function () {
      return outbox.get(record.id);
    }).then(function (now) {
      if (now && now.state === "sent") {
        var lot = lotOf(now);
        flash(now.type === "batch" ? t("registered", { lot: lot }) : t("recorded", { event: kindLabel(now.payload.kind), lot: lot }));
        location.assign(lotPath(lot));
      } else if (now && now.state === "refused") {
        form.setAttribute("data-fix", now.id);
        showRefusal(form, now.error);
        submit.disabled = false;
      } else {
        askWorkerToSend();
        location.assign(OUTBOX_URL + "?saved=" + record.id);
      }
    });
  }

  function enhance(form, fixing) {
    var type = form.getAttribute("data-outbox");
    var submit = form.querySelector("button[type=submit]");
    if (fixing) {
      form.setAttribute("data-fix", fixing.id);
      fillForm(form, fixing);
      showStatus(form, t("fixing"), false);
      if (fixing.error) {
        showRefusal(form, fixing.error);
      }
    } else if (type === "event" && form.elements.occurred_at) {
      // A page kept on the phone shows the time it was fetched: the farmer records now.
      form.elements.occurred_at.value = localInputValue(new Date());
    }
    var today = localInputValue(new Date()).slice(0, 10);
    ["planted_on", "harvested_on"].forEach(function (name) {
      if (form.elements[name]) {
        form.elements[name].max = today;
      }
    });
    var target = type === "batch" ? null : targetOf(form, fixing);
    labelTheLot(form, target);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!form.reportValidity()) {
        return;
      }
      if (type === "event" && !target) {
        showStatus(form, t("no-lot"), true);
        return;
      }
      submit.disabled = true;
      var photoField = form.elements.photo;
      var file = photoField && photoField.files && photoField.files[0];
      shrinkPhoto(file).then(function (photo) {
        var fixId = form.getAttribute("data-fix");
        var record = {
          unit: form.getAttribute("data-unit") || "",
          payload: { batch: batchPayload, event: eventPayload, correction: correctionPayload }[type](form),
          label: type === "batch" ? optionText(form, "crop") + " · " + optionText(form, "farm") : "",
        };
        if (photo) {
          record.photo = photo.blob;
          record.photoName = photo.name;
          record.photoSize = photo.blob.size;
        }
        if (fixId) {
          return outbox.update(fixId, Object.assign(record, { state: "waiting", attempts: 0, nextTryAt: 0, error: null }));
        }
        return outbox.add(Object.assign(record, {
          id: outbox.newId(),
          user: user,
          type: type,
          page: type === "correction" ? location.pathname : "",
          lot: target ? target.lot : "",
          batchRef: target ? target.batchRef : null,
        }));
      }).then(function (record) {
        showStatus(form, t("saved"), false);
        afterSaving(form, record, submit);
      }, function (failure) {
        submit.disabled = false;
        if (navigator.onLine !== false) {
          form.submit(); // the phone cannot keep it: the server takes it now, as with JavaScript off
        } else {
          showStatus(form, t("not-saved", { error: String((failure && failure.message) || failure) }), true);
        }
      });
    });
  }

  function enhanceForms() {
    var forms = document.querySelectorAll("form[data-outbox]");
    if (!forms.length) {
      return;
    }
    var fixId = params().fix;
    var fixing = fixId ? outbox.get(fixId) : Promise.resolve(null);
    fixing.then(function (record) {
      Array.prototype.forEach.call(forms, function (form) {
        enhance(form, record && record.user === user ? record : null);
      });
    }, function () {
      /* no IndexedDB on this phone: the forms post to the server */
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Start

  forgetPagesUnlessMine().then(function (newPerson) {
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/sw.js").then(function () {
        return navigator.serviceWorker.ready;
      }).then(function () {
        return warm(newPerson);
      }).then(function () {
        root.setAttribute("data-ready", "1");
      }, function () {
        root.setAttribute("data-ready", "0");
      });
    }
  });
  showFlash();
  enhanceForms();
  renderLots();
  outbox.onChange(render);
  document.addEventListener("click", onOutboxClick);
  window.addEventListener("online", function () {
    kick(true);
  });
  window.addEventListener("offline", render);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      kick(false);
    }
  });
  render();
  kick(false);
})();
