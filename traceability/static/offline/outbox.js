/* The phone's outbox: every record the farmer saves (a batch registered, a harvest, a cooling
   reading, a packing, a quality test with its photo, a temperature reading, a correction) waits
   here, in IndexedDB, until the server has it. Used by the pages (offline/app.js) and by the
   service worker (importScripts), so it touches no page.

   A record: {id: its client_id, user: who made it, type: "batch" | "event" | "correction",
   lot: the lot code, or batchRef: the id of a batch registered on this phone and not sent yet,
   payload: the API fields, photo: a Blob or null, label: what the farmer saw (crop, farm),
   seq: its place in the queue, state: "waiting" | "sending" | "sent" | "refused",
   attempts, nextTryAt, error: {status, code, message, fields} or null, result: the server's answer}.

   send() posts a person's waiting records in order to /api/v1/batches/ and /api/v1/events/ with
   their client_id, so a record sent twice (an answer lost on the way back, two tabs) is recorded
   once. A record the server refuses (4xx) stays, with the server's reason, until the farmer fixes
   or drops it; a lost connection or a server error keeps the record waiting and tries again later,
   waiting twice as long each time up to five minutes. Only the signed-in person's records are
   sent (the server checks it too: X-Outbox-User). No password is ever kept here. */
(function (global) {
  "use strict";

  var DB_NAME = "farm-outbox";
  var STORE = "records";
  var FIRST_DELAY = 2000;
  var LONGEST_DELAY = 5 * 60 * 1000;
  var SEND_TIMEOUT = 60000;
  var SESSION_TIMEOUT = 15000;
  var KEEP_SENT = 100;
  var SESSION_URL = "/batches/outbox/session.json";
  var BATCHES_URL = "/api/v1/batches/";
  var EVENTS_URL = "/api/v1/events/";

  var database = null;
  var listeners = [];
  var channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("farm-outbox") : null;
  var running = null;
  var queued = null;

  function openDatabase() {
    if (!database) {
      database = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          var store = request.result.createObjectStore(STORE, { keyPath: "id" });
          store.createIndex("seq", "seq", { unique: true });
        };
        request.onsuccess = function () {
          resolve(request.result);
        };
        request.onerror = function () {
          reject(request.error);
        };
      });
      database.catch(function () {
        database = null;
      });
    }
    return database;
  }

  // Runs work(store, keep) in one transaction; resolves with what work passed to keep(), once committed.
  function transaction(mode, work) {
    return openDatabase().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result;
        tx.oncomplete = function () {
          resolve(result);
        };
        tx.onerror = tx.onabort = function () {
          reject(tx.error || new Error("IndexedDB transaction aborted"));
        };
        work(tx.objectStore(STORE), function (value) {
          result = value;
        });
      });
    });
  }

  function changed(id) {
    listeners.forEach(function (listener) {
      listener(id);
    });
    if (channel) {
      channel.postMessage({ id: id });
    }
  }

  if (channel) {
    channel.onmessage = function (message) {
      listeners.forEach(function (listener) {
        listener(message.data && message.data.id);
      });
    };
  }

  function newId() {
    if (global.crypto && typeof global.crypto.randomUUID === "function") {
      return global.crypto.randomUUID();
    }
    var bytes = global.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  // Every record, in queue order.
  function all() {
    return transaction("readonly", function (store, keep) {
      var request = store.index("seq").getAll();
      request.onsuccess = function () {
        keep(request.result);
      };
    });
  }

  function get(id) {
    return transaction("readonly", function (store, keep) {
      var request = store.get(id);
      request.onsuccess = function () {
        keep(request.result || null);
      };
    });
  }

  // Queues a new record at the end: {id, user, type, lot or batchRef, payload, photo, label}.
  function add(record) {
    return transaction("readwrite", function (store, keep) {
      var last = store.index("seq").openCursor(null, "prev");
      last.onsuccess = function () {
        var full = Object.assign({}, record, {
          seq: last.result ? last.result.value.seq + 1 : 1,
          state: "waiting",
          attempts: 0,
          nextTryAt: 0,
          error: null,
          result: null,
          madeAt: new Date().toISOString(),
        });
        store.add(full);
        keep(full);
      };
    }).then(function (full) {
      changed(full.id);
      return full;
    });
  }

  // Changes some fields of a record; resolves with the record as stored, or null if it is gone.
  function update(id, changes) {
    return transaction("readwrite", function (store, keep) {
      var request = store.get(id);
      request.onsuccess = function () {
        if (!request.result) {
          keep(null);
          return;
        }
        var record = Object.assign(request.result, changes);
        store.put(record);
        keep(record);
      };
    }).then(function (record) {
      changed(id);
      return record;
    });
  }

  function remove(ids) {
    return transaction("readwrite", function (store) {
      ids.forEach(function (id) {
        store.delete(id);
      });
    }).then(function () {
      changed(ids[0]);
    });
  }

  function isOpen(record) {
    return record.state === "waiting" || record.state === "sending";
  }

  function delay(attempts) {
    var base = Math.min(LONGEST_DELAY, FIRST_DELAY * Math.pow(2, attempts - 1));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  function fetchWithin(url, options, ms) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    if (controller) {
      options.signal = controller.signal;
    }
    var timer = setTimeout(function () {
      if (controller) {
        controller.abort();
      }
    }, ms);
    return fetch(url, options).then(
      function (response) {
        clearTimeout(timer);
        return response;
      },
      function (error) {
        clearTimeout(timer);
        throw error;
      }
    );
  }

  // Who is signed in now, and the CSRF token; rejects when the server cannot be reached.
  async function session() {
    var response = await fetchWithin(
      SESSION_URL,
      { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } },
      SESSION_TIMEOUT
    );
    var answer = await response.json(); // a captive portal's page is not JSON: no connection
    if (!response.ok || !("user" in answer)) {
      throw new Error("no session answer");
    }
    return { user: answer.user === null ? null : String(answer.user), csrf: answer.csrf };
  }

  function requestFor(record, lot, who) {
    var fields = Object.assign({}, record.payload, { client_id: record.id });
    var headers = { Accept: "application/json", "X-CSRFToken": who.csrf, "X-Outbox-User": record.user };
    if (record.type === "event") {
      fields.batch = lot;
    }
    var body;
    if (record.photo) {
      body = new FormData();
      Object.keys(fields).forEach(function (name) {
        var value = fields[name];
        if (value !== null && value !== undefined) {
          body.append(name, typeof value === "object" ? JSON.stringify(value) : String(value));
        }
      });
      body.append("photo", record.photo, record.photoName || "photo.jpg");
    } else {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(fields);
    }
    return {
      url: record.type === "batch" ? BATCHES_URL : EVENTS_URL,
      options: { method: "POST", credentials: "same-origin", headers: headers, body: body },
    };
  }

  // One record to the server: {sent, result} | {refused, error} | {signIn} | {csrf} | {later, offline, message}.
  async function deliver(record, lot, who) {
    var request = requestFor(record, lot, who);
    var response;
    try {
      response = await fetchWithin(request.url, request.options, SEND_TIMEOUT);
    } catch (failure) {
      return { later: true, offline: true, message: String((failure && failure.message) || failure) };
    }
    var answer = null;
    try {
      answer = await response.json();
    } catch (notJson) {
      answer = null;
    }
    var status = response.status;
    var error = answer && answer.error ? answer.error : null;
    if (status >= 200 && status < 300) {
      // Only the server's own answer about this very record counts (not a captive portal's page).
      if (answer && answer.client_id === record.id) {
        return { sent: true, result: { lot_code: answer.lot_code || lot || null, id: answer.id || null } };
      }
      return { later: true, message: "HTTP " + status };
    }
    if (status === 401) {
      return { signIn: true };
    }
    if (status === 403 && error && /CSRF/i.test(error.message)) {
      return { csrf: true };
    }
    if (!error || status === 408 || status === 425 || status === 429 || status >= 500) {
      return { later: true, message: (error && error.message) || "HTTP " + status };
    }
    return {
      refused: true,
      error: { status: status, code: error.code, message: error.message, fields: error.fields || {} },
    };
  }

  async function sendInOrder(records, who, options, report) {
    var byId = {};
    records.forEach(function (record) {
      byId[record.id] = record;
    });
    var mine = records.filter(function (record) {
      return isOpen(record) && record.user === who.user;
    });
    for (var i = 0; i < mine.length; i++) {
      var record = mine[i];
      var lot = record.lot;
      if (record.batchRef) {
        var batch = byId[record.batchRef];
        if (!batch || batch.state !== "sent") {
          report.waiting += 1; // its batch has no lot code yet
          continue;
        }
        lot = batch.result.lot_code;
      }
      if (!options.now && record.nextTryAt > Date.now()) {
        report.waiting += mine.length - i;
        report.nextTryAt = record.nextTryAt;
        break;
      }
      await update(record.id, { state: "sending" });
      var outcome = await deliver(record, lot, who);
      if (outcome.csrf) {
        who = await session(); // signed in again meanwhile: the token changed
        outcome = who.user === record.user ? await deliver(record, lot, who) : { signIn: true };
      }
      if (outcome.sent) {
        var sent = { state: "sent", sentAt: new Date().toISOString(), result: outcome.result, error: null };
        sent.photo = null; // the server keeps it now; the phone's copy would only fill its storage
        sent.lot = lot;
        byId[record.id] = await update(record.id, sent);
        report.sent += 1;
      } else if (outcome.refused) {
        byId[record.id] = await update(record.id, { state: "refused", error: outcome.error });
        report.refused += 1;
      } else if (outcome.signIn) {
        await update(record.id, { state: "waiting" });
        report.signIn = true;
        report.waiting += mine.length - i;
        break;
      } else {
        var attempts = (record.attempts || 0) + 1;
        var nextTryAt = Date.now() + delay(attempts);
        await update(record.id, {
          state: "waiting",
          attempts: attempts,
          nextTryAt: nextTryAt,
          error: { status: 0, code: "later", message: outcome.message, fields: {} },
        });
        report.offline = Boolean(outcome.offline);
        report.waiting += mine.length - i;
        report.nextTryAt = nextTryAt;
        break;
      }
    }
    return report;
  }

  // Forgets the oldest sent records beyond KEEP_SENT per person.
  async function prune() {
    var records = await all();
    var sentByUser = {};
    records.forEach(function (record) {
      if (record.state === "sent") {
        (sentByUser[record.user] = sentByUser[record.user] || []).push(record.id);
      }
    });
    var old = [];
    Object.keys(sentByUser).forEach(function (user) {
      var ids = sentByUser[user];
      old = old.concat(ids.slice(0, Math.max(0, ids.length - KEEP_SENT)));
    });
    if (old.length) {
      await remove(old);
    }
  }

  // One pass over the queue. options.now: do not wait for the next try's time (the farmer asked).
  async function pass(options) {
    var report = { sent: 0, refused: 0, waiting: 0, offline: false, signIn: false, user: null, nextTryAt: 0 };
    var records = await all();
    var open = records.filter(isOpen);
    if (!open.length) {
      return report;
    }
    var who;
    try {
      who = await session();
    } catch (unreachable) {
      report.offline = true;
      report.waiting = open.length;
      return report;
    }
    report.user = who.user;
    if (!who.user) {
      report.signIn = true;
      report.waiting = open.length;
      return report;
    }
    await sendInOrder(records, who, options, report);
    await prune();
    return report;
  }

  // Sends what waits; resolves with a report {sent, refused, waiting, offline, signIn, user, nextTryAt}.
  // One pass at a time across the pages and the worker (Web Locks where the browser has them); a
  // call during a pass runs one more pass after it.
  function send(options) {
    options = options || {};
    if (running) {
      if (!queued) {
        queued = running.then(function () {
          queued = null;
          return send(options);
        });
      }
      return queued;
    }
    var work = function () {
      return pass(options);
    };
    var locks = global.navigator && global.navigator.locks;
    running = (locks ? locks.request("farm-outbox-send", work) : work()).then(
      function (report) {
        running = null;
        return report;
      },
      function (error) {
        running = null;
        throw error;
      }
    );
    return running;
  }

  function onChange(listener) {
    listeners.push(listener);
  }

  global.FarmOutbox = {
    add: add,
    all: all,
    get: get,
    update: update,
    remove: remove,
    send: send,
    onChange: onChange,
    newId: newId,
    isOpen: isOpen,
  };
})(self);
