// Rooms, broadcast operators, broadcast acknowledgements and connection state recovery,
// driven with the official socket.io-client against a server that implements the
// fixture contract with the room events of the echo example (README.md).
//
//   node sio-rooms.mjs <url> <polling|websocket|upgrade> <rooms|recovery|recovery-expired>
//
// Prints "ok <scenario>" and exits 0, or "fail <why>" and exits 1 (after 20 s: "fail
// timeout"). Nothing waits for a fixed time except the reconnection delay the client is
// configured with; every step waits for the event it expects.
import { io } from "socket.io-client";

const SCENARIOS = ["rooms", "recovery", "recovery-expired"];
const [base, mode, scenario] = process.argv.slice(2);
const transports = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] }[mode];
if (!base || !transports || !SCENARIOS.includes(scenario)) {
  console.error(`usage: sio-rooms.mjs <url> <polling|websocket|upgrade> <${SCENARIOS.join("|")}>`);
  process.exit(2);
}
const url = base.replace(/\/+$/, "");
const fail = (why) => {
  console.log(`fail ${why}`);
  process.exit(1);
};
const timer = setTimeout(() => fail("timeout"), 20_000);
process.on("unhandledRejection", (err) => fail(`exception ${err && err.message ? err.message : err}`));

const sockets = [];
const open = (options = {}) => {
  const socket = io(url, { transports, forceNew: true, ...options });
  sockets.push(socket);
  socket.on("connect_error", (err) => fail(`connect_error ${err.message}`));
  return socket;
};
const connected = (socket) =>
  new Promise((resolve) => (socket.connected ? resolve() : socket.once("connect", resolve)));
const once = (socket, event) => new Promise((resolve) => socket.once(event, (...args) => resolve(args)));
/** An echo round trip: everything the socket sent before has been handled. */
const sync = async (socket) => {
  const token = Math.random().toString(36);
  const reply = once(socket, "echo");
  socket.emit("echo", token);
  const [got] = await reply;
  if (got !== token) fail(`echo ${got} instead of ${token}`);
};
const succeed = () => {
  console.log(`ok ${scenario}`);
  clearTimeout(timer);
  for (const socket of sockets) socket.disconnect();
  setTimeout(() => process.exit(0), 3_000).unref();
};

/** Records what each socket receives of `events`, in order. */
const record = (named, events) => {
  const log = Object.fromEntries(Object.keys(named).map((name) => [name, []]));
  for (const [name, socket] of Object.entries(named)) {
    for (const event of events) socket.on(event, (...args) => log[name].push([event, ...args]));
  }
  return log;
};

async function rooms() {
  const named = { a: open(), b: open(), c: open(), d: open() };
  await Promise.all(Object.values(named).map(connected));
  const { a, b, c, d } = named;
  a.emit("join", "r1");
  b.emit("join", "r1");
  b.emit("join", "r2");
  c.emit("join", "r2");
  await Promise.all(Object.values(named).map(sync));
  const log = record(named, ["to-room", "to-rooms", "except-room", "broadcast"]);

  /** d sends `event`, then a broadcast marker; every socket must have seen exactly `expected` before the marker. */
  const step = async (label, send, event, expected) => {
    for (const name of Object.keys(log)) log[name].length = 0;
    const markers = Object.values(named).map((socket) => once(socket, "broadcast"));
    send();
    d.emit("broadcast", "marker");
    await Promise.all(markers);
    for (const name of Object.keys(log)) {
      const got = log[name].filter(([e]) => e === event).length;
      const want = expected.includes(name) ? 1 : 0;
      if (got !== want) fail(`${label}: ${name} got ${got} ${event}, expected ${want}`);
      const [first] = log[name];
      if (want && (first[0] !== event || first[1] !== "x" || first[2] !== 2)) {
        fail(`${label}: ${name} got ${JSON.stringify(first)} first`);
      }
    }
  };
  await step("to-room r1", () => d.emit("to-room", "r1", "x", 2), "to-room", ["a", "b"]);
  await step("to-rooms r1 r2", () => d.emit("to-rooms", ["r1", "r2"], "x", 2), "to-rooms", ["a", "b", "c"]);
  await step("except-room r1", () => d.emit("except-room", "r1", "x", 2), "except-room", ["c", "d"]);
  b.emit("leave", "r1");
  await sync(b);
  await step("to-room r1 after leave", () => d.emit("to-room", "r1", "x", 2), "to-room", ["a"]);
  await step("to-room own id", () => d.emit("to-room", c.id, "x", 2), "to-room", ["c"]);

  // Broadcast acknowledgements: c never answers; the others' answers come back.
  a.on("ack-all", (x, ack) => ack(`a:${x}`));
  b.on("ack-all", (x, ack) => ack(`b:${x}`));
  c.on("ack-all", () => {});
  d.on("ack-all", (x, ack) => ack(`d:${x}`));
  const started = Date.now();
  const answers = await d.timeout(5_000).emitWithAck("ack-all", "q");
  const sorted = [...answers].sort();
  if (JSON.stringify(sorted) !== JSON.stringify(["a:q", "b:q", "d:q"])) fail(`ack-all answers ${JSON.stringify(answers)}`);
  if (Date.now() - started < 900) fail("ack-all answered before the silent client timed out");
  succeed();
}

/** The server drops x's transport; what is broadcast to x's room meanwhile must arrive after the automatic reconnect. */
async function recovery(expectRecovered) {
  const x = open({ reconnectionDelay: expectRecovered ? 300 : 1_500, reconnectionDelayMax: 1_500, randomizationFactor: 0 });
  const helper = open();
  await Promise.all([connected(x), connected(helper)]);
  if (x.recovered) fail("recovered on the first connection");
  const firstId = x.id;
  x.emit("join", "r");
  await sync(x);
  const got = [];
  const offsets = new Set();
  x.on("to-room", (value, offset) => {
    // Every packet carries its offset, replayed ones too: the client sends the last
    // one back when it recovers.
    if (typeof offset !== "string" || offsets.has(offset)) fail(`${value} came with offset ${offset}`);
    offsets.add(offset);
    got.push(value);
  });
  const m0 = once(x, "to-room");
  helper.emit("to-room", "r", "m0");
  await m0;
  const dropped = once(x, "disconnect");
  x.emit("close-transport");
  const [reason] = await dropped;
  if (reason !== "transport close") fail(`disconnect reason ${reason}`);
  for (const value of ["m1", "m2", "m3"]) helper.emit("to-room", "r", value);
  await sync(helper);
  await once(x, "connect");
  if (expectRecovered) {
    if (!x.recovered) fail("not recovered");
    if (x.id !== firstId) fail(`id changed from ${firstId} to ${x.id}`);
    await sync(x);
    if (JSON.stringify(got) !== JSON.stringify(["m0", "m1", "m2", "m3"])) fail(`received ${JSON.stringify(got)}`);
    // Rooms came back too.
    const again = once(x, "to-room");
    helper.emit("to-room", "r", "m4");
    await again;
  } else {
    if (x.recovered) fail("recovered after the recovery window");
    if (x.id === firstId) fail("kept its id after the recovery window");
    await sync(x);
    if (JSON.stringify(got) !== JSON.stringify(["m0"])) fail(`received ${JSON.stringify(got)}`);
  }
  succeed();
}

if (scenario === "rooms") await rooms();
else await recovery(scenario === "recovery");
