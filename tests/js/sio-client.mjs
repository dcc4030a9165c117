// Drives a Socket.IO server that implements the fixture contract (see fixture-server.mjs
// and README.md) with the official socket.io-client.
//
//   node sio-client.mjs <url> <polling|websocket|upgrade> <scenario> [close-transport|msgpack]
//
// With `msgpack`, every client uses the npm socket.io-msgpack-parser (the server must too).
//
// Scenarios: echo, namespaces, disconnects, reconnect. Each prints "ok <scenario>" and
// exits 0, or prints "fail <why>" and exits 1; after 20 s (reconnect: 30 s) it prints
// "fail timeout". Nothing waits for a fixed time: every step waits for the event that it
// expects.
import { io } from "socket.io-client";
import msgpackParser from "socket.io-msgpack-parser";

const SCENARIOS = ["echo", "namespaces", "disconnects", "reconnect"];
const [base, mode, scenario, extra] = process.argv.slice(2);
const transports = {
  polling: ["polling"],
  websocket: ["websocket"],
  upgrade: ["polling", "websocket"],
}[mode];
if (!base || !transports || !SCENARIOS.includes(scenario) || (extra !== undefined && extra !== "close-transport" && extra !== "msgpack")) {
  console.error(`usage: sio-client.mjs <url> <polling|websocket|upgrade> <${SCENARIOS.join("|")}> [close-transport|msgpack]`);
  process.exit(2);
}
const url = base.replace(/\/+$/, "");

const print = (line) => console.log(line);
const fail = (why) => {
  print(`fail ${why}`);
  process.exit(1);
};
const timer = setTimeout(() => fail("timeout"), scenario === "reconnect" ? 30_000 : 20_000);
process.on("unhandledRejection", (err) => fail(`exception ${err && err.message ? err.message : err}`));

/** Prints "ok <scenario>" and lets Node exit once every socket has flushed and closed. */
const succeed = (...sockets) => {
  print(`ok ${scenario}`);
  clearTimeout(timer);
  for (const socket of sockets) socket.disconnect();
  // A safety net for a handle left open: it does not keep Node alive by itself.
  setTimeout(() => process.exit(0), 3_000).unref();
};

// ---- values --------------------------------------------------------------------------

const isBinary = (x) => x instanceof ArrayBuffer || ArrayBuffer.isView(x);
const bytesOf = (x) =>
  x instanceof ArrayBuffer ? new Uint8Array(x) : new Uint8Array(x.buffer, x.byteOffset, x.byteLength);

/** Deep equality in which any two binary values (Buffer, Uint8Array, ArrayBuffer) with the same bytes are equal. */
const equal = (a, b) => {
  if (isBinary(a) || isBinary(b)) {
    if (!isBinary(a) || !isBinary(b)) return false;
    const [x, y] = [bytesOf(a), bytesOf(b)];
    return x.length === y.length && x.every((byte, i) => byte === y[i]);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x, b[i]));
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && equal(a[k], b[k]));
  }
  return a === b;
};

/** A readable form of a value, binary shown as <bin 1,2,3>. */
const show = (x) => {
  if (isBinary(x)) return `<bin ${Array.from(bytesOf(x)).join(",")}>`;
  if (Array.isArray(x)) return `[${x.map(show).join(", ")}]`;
  if (x !== null && typeof x === "object") {
    return `{${Object.entries(x)
      .map(([k, v]) => `${JSON.stringify(k)}: ${show(v)}`)
      .join(", ")}}`;
  }
  return x === undefined ? "undefined" : JSON.stringify(x);
};

const expectEqual = (what, got, want) => {
  if (!equal(got, want)) fail(`${what}: got ${show(got)}, want ${show(want)}`);
};

// Several arguments, binary at the top level and nested in objects and arrays.
const ARGS = () => [
  1,
  "two",
  { three: [3] },
  new Uint8Array([1, 2, 3]),
  { nested: { bin: new Uint8Array([4, 5]) }, list: [new Uint8Array([6])] },
  null,
  true,
  "é✓",
];

// ---- events ---------------------------------------------------------------------------

/**
 * Records every occurrence of `events` on `emitter` from now on; `next(event)` resolves with
 * the arguments of the next one not yet taken. Register before triggering, and nothing is missed.
 */
const record = (emitter, events) => {
  const queues = new Map(events.map((e) => [e, []]));
  const waiters = new Map(events.map((e) => [e, []]));
  for (const event of events) {
    emitter.on(event, (...args) => {
      const waiter = waiters.get(event).shift();
      if (waiter) waiter(args);
      else queues.get(event).push(args);
    });
  }
  return {
    next(event) {
      const queued = queues.get(event).shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve) => waiters.get(event).push(resolve));
    },
  };
};

/** Resolves with the arguments of the next `event` on `emitter`. */
const once = (emitter, event) => new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));

/** Resolves when `socket` is connected and, in upgrade mode, its engine runs over WebSocket. */
const ready = async (socket, what = "socket") => {
  if (!socket.connected) {
    const [outcome, err] = await Promise.race([
      once(socket, "connect").then(() => ["connect"]),
      once(socket, "connect_error").then(([e]) => ["error", e]),
    ]);
    if (outcome === "error") fail(`${what} connect_error ${err && err.message}`);
  }
  const problem = await transportReady(socket);
  if (problem) fail(`${what} ${problem}`);
};

/**
 * Resolves with null when the engine of `socket` runs over the transport of the mode (in
 * upgrade mode, once it has upgraded), or with what went wrong.
 */
const transportReady = async (socket) => {
  const engine = socket.io.engine;
  if (mode === "upgrade" && engine.transport.name !== "websocket") {
    // The engine switches transport and emits "upgrade" in the same tick: no race here.
    const outcome = await Promise.race([
      once(engine, "upgrade").then(() => "upgrade"),
      once(engine, "upgradeError").then(([e]) => `did not upgrade: upgradeError ${e && e.message}`),
      once(engine, "close").then(([reason]) => `closed before upgrading: ${reason}`),
    ]);
    if (outcome !== "upgrade") return outcome;
  }
  const want = mode === "polling" ? "polling" : "websocket";
  if (engine.transport.name !== want) return `transport is ${engine.transport.name}, want ${want}`;
  return null;
};

const parser = extra === "msgpack" ? { parser: msgpackParser } : {};
const open = (path, options = {}) => io(`${url}${path}`, { transports, ...parser, ...options });

// ---- scenarios ------------------------------------------------------------------------

const scenarios = {
  async echo() {
    const socket = open("/", { auth: { token: "abc" }, query: { color: "blue" } });
    const inbox = record(socket, ["auth", "message-back", "echo", "server-ack-result", "broadcast"]);
    await ready(socket);
    expectEqual("auth", await inbox.next("auth"), [{ token: "abc" }]);

    socket.emit("message", ...ARGS());
    expectEqual("message-back", await inbox.next("message-back"), ARGS());

    socket.emit("echo", ...ARGS());
    expectEqual("echo", await inbox.next("echo"), ARGS());

    // Acks with every argument, through callbacks.
    for (const event of ["message-with-ack", "ack"]) {
      const answer = await new Promise((resolve) => socket.emit(event, ...ARGS(), (...args) => resolve(args)));
      expectEqual(`${event} ack`, answer, ARGS());
    }
    // emitWithAck resolves with the first argument of the ack.
    const nested = { nested: { bin: new Uint8Array([4, 5]) }, list: [new Uint8Array([6])] };
    expectEqual("emitWithAck message-with-ack", await socket.emitWithAck("message-with-ack", nested), nested);
    expectEqual("emitWithAck ack", await socket.timeout(5_000).emitWithAck("ack", new Uint8Array([7]), 8), new Uint8Array([7]));

    // The server asks, the client acknowledges with binary.
    let asked = null;
    socket.on("ask", (...args) => {
      const ack = args.pop();
      if (typeof ack !== "function") fail("ask came without an ack id");
      asked = args;
      ack("answer", new Uint8Array([9, 9]));
    });
    socket.emit("server-ack", ...ARGS());
    expectEqual("server-ack-result", await inbox.next("server-ack-result"), ["answer", new Uint8Array([9, 9])]);
    expectEqual("ask", asked, ARGS());

    const [handshake] = await new Promise((resolve) => socket.emit("handshake", (...args) => resolve(args)));
    if (!handshake || !handshake.query || handshake.query.color !== "blue") fail(`handshake query ${show(handshake)}`);
    if (!handshake.auth || handshake.auth.token !== "abc") fail(`handshake auth ${show(handshake)}`);

    // A broadcast reaches both this client and another one on its own connection.
    const other = open("/", { forceNew: true });
    const otherInbox = record(other, ["broadcast"]);
    await ready(other, "second client");
    if (other.io === socket.io || other.io.engine.id === socket.io.engine.id) fail("forceNew shared the connection");
    socket.emit("broadcast", ...ARGS());
    expectEqual("broadcast (sender)", await inbox.next("broadcast"), ARGS());
    expectEqual("broadcast (other)", await otherInbox.next("broadcast"), ARGS());

    succeed(socket, other);
  },

  async namespaces() {
    const custom = open("/custom", { auth: { token: "c" } });
    const customInbox = record(custom, ["auth"]);
    await ready(custom, "/custom");
    expectEqual("/custom auth", await customInbox.next("auth"), [{ token: "c" }]);

    const root = open("/");
    await ready(root, "/");
    if (root.io !== custom.io) fail("/ and /custom got two managers");
    if (!root.io.engine.id || root.io.engine.id !== custom.io.engine.id) fail("/ and /custom got two engines");

    const dyn = open("/dyn/42");
    const dynInbox = record(dyn, ["hello"]);
    await ready(dyn, "/dyn/42");
    expectEqual("/dyn/42 hello", await dynInbox.next("hello"), ["/dyn/42"]);

    const nope = open("/nope");
    const [nopeErr] = await once(nope, "connect_error");
    if (nopeErr.message !== "Invalid namespace") fail(`/nope connect_error message ${show(nopeErr.message)}`);
    if (nope.connected) fail("/nope connected");

    const auth = open("/auth", { auth: { token: "wrong" } });
    const authInbox = record(auth, ["welcome"]);
    const [authErr] = await once(auth, "connect_error");
    if (authErr.message !== "unauthorized") fail(`/auth connect_error message ${show(authErr.message)}`);
    expectEqual("/auth connect_error data", authErr.data, { reason: "bad token" });
    // The documented retry: new credentials, connect() again, on the same connection.
    auth.auth = { token: "secret" };
    auth.connect();
    await ready(auth, "/auth");
    await authInbox.next("welcome");

    const engineId = root.io.engine.id;
    for (const socket of [custom, dyn, auth]) {
      if (socket.io.engine.id !== engineId) fail(`${socket.nsp} is not on the shared engine`);
    }
    succeed(custom, root, dyn, nope, auth);
  },

  async disconnects() {
    const socket = open("/");
    await ready(socket);
    print(`connected ${socket.id}`);

    const serverSide = once(socket, "disconnect");
    socket.emit("disconnect-me");
    const [serverReason] = await serverSide;
    if (serverReason !== "io server disconnect") fail(`server disconnect reason ${serverReason}`);
    print("server-disconnected");

    socket.connect();
    await ready(socket);
    print(`connected ${socket.id}`);

    const clientSide = once(socket, "disconnect");
    socket.disconnect();
    const [clientReason] = await clientSide;
    if (clientReason !== "io client disconnect") fail(`client disconnect reason ${clientReason}`);
    print("client-disconnected");
    // succeed() lets the DISCONNECT packet reach the server before Node exits.
    succeed();
  },

  async reconnect() {
    const socket = open("/", { reconnectionDelay: 100, reconnectionDelayMax: 500 });
    const wanted = extra === "close-transport" ? 1 : 2;
    let announced = false; // "connected" printed
    let reconnects = 0;
    socket.on("disconnect", (reason) => print(`disconnected ${reason}`));
    socket.on("connect", async () => {
      const first = !announced;
      const problem = await transportReady(socket);
      // Lost again while upgrading (the test restarts the server): the next connect reports.
      if (problem && problem.startsWith("closed")) return;
      if (problem) fail(`${first ? "first connection" : "reconnection"} ${problem}`);
      if (!socket.connected) return;
      if (first) {
        announced = true;
        print(`connected ${socket.id}`);
        if (extra === "close-transport") socket.emit("close-transport");
        return;
      }
      print(`reconnected ${socket.id}`);
      if (++reconnects === wanted) {
        socket.off("disconnect");
        succeed(socket);
      }
    });
  },
};

scenarios[scenario]().catch((err) => fail(`exception ${err && err.message ? err.message : err}`));
