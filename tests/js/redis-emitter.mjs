// Traffic that is not from a server: @socket.io/redis-emitter 5.1 commands, then hostile
// input on every channel of the namespace, against one cluster node (ours), driven with
// the official socket.io-client.
//
//   node redis-emitter.mjs <node url> <redis url> <key>
//
// Prints "ok emitter" and exits 0, or "fail <why>" and exits 1 (after 30 s: "fail
// timeout"). Every step waits for the event it expects; a marker emitted after each
// step shows what must not have arrived.
import { Emitter } from "@socket.io/redis-emitter";
import { Redis } from "ioredis";
import { encode } from "notepack.io";
import { io } from "socket.io-client";

const [url, redisUrl, key] = process.argv.slice(2);
if (!url || !redisUrl || !key) {
  console.error("usage: redis-emitter.mjs <node url> <redis url> <key>");
  process.exit(2);
}
const fail = (why) => {
  console.log(`fail ${why}`);
  process.exit(1);
};
const timer = setTimeout(() => fail("timeout"), 30_000);
process.on("unhandledRejection", (err) => fail(`exception ${err && err.stack ? err.stack : err}`));

const redis = new Redis(redisUrl);
const emitter = new Emitter(redis, { key });

const clients = {};
for (const name of ["a", "b"]) {
  const socket = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
  const client = { socket, log: [], waiters: [] };
  const note = (entry) => {
    client.log.push(entry);
    for (const waiter of [...client.waiters]) waiter();
  };
  socket.onAny((event, ...args) => note([event, ...args]));
  socket.on("disconnect", (reason) => note(["disconnect", reason]));
  socket.on("connect_error", (err) => fail(`connect_error ${err.message}`));
  clients[name] = client;
}
await Promise.all(Object.values(clients).map((c) => new Promise((resolve) => c.socket.once("connect", resolve))));

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const has = (client, event, data) => client.log.some(([e, d]) => e === event && JSON.stringify(d) === JSON.stringify(data));
const until = (name, event, data) =>
  new Promise((resolve) => {
    const client = clients[name];
    if (has(client, event, data)) return resolve();
    const timeout = setTimeout(() => fail(`${name} never saw ${event} ${JSON.stringify(data)}: ${JSON.stringify(client.log)}`), 10_000);
    const waiter = () => {
      if (!has(client, event, data)) return;
      clearTimeout(timeout);
      client.waiters.splice(client.waiters.indexOf(waiter), 1);
      resolve();
    };
    client.waiters.push(waiter);
  });
let markers = 0;
/** Every client gets a marker after what was published before it. */
const marker = async () => {
  const n = ++markers;
  emitter.emit("marker", n);
  for (const name of Object.keys(clients)) if (clients[name].socket.connected) await until(name, "marker", n);
};
const never = (name, event, data) => {
  if (has(clients[name], event, data)) fail(`${name} got ${event} ${JSON.stringify(data)}`);
};

expectOk(await clients.a.socket.emitWithAck("join", { rooms: ["e1"] }));
function expectOk(answer) {
  if (answer !== "ok") fail(`join answered ${answer}`);
}

emitter.emit("to-all", { date: new Date(Date.UTC(2000, 5, 13)), n: 1 });
await until("a", "to-all", { date: "2000-06-13T00:00:00.000Z", n: 1 });
await until("b", "to-all", { date: "2000-06-13T00:00:00.000Z", n: 1 });

// Binary (a Buffer, nested too) arrives as binary attachments.
emitter.emit("binary", Buffer.from([1, 2, 3]), { nested: new Uint8Array([4, 5]) });
const bytes = (value) => (value ? [...new Uint8Array(value)] : null);
await new Promise((resolve) => {
  const check = () => {
    const got = clients.b.log.find(([e]) => e === "binary");
    if (!got) return false;
    const [, first, second] = got;
    if (!same(bytes(first), [1, 2, 3]) || !same(bytes(second && second.nested), [4, 5])) {
      fail(`binary arrived as ${JSON.stringify(got)}`);
    }
    resolve();
    return true;
  };
  if (!check()) clients.b.waiters.push(check);
});

emitter.to("e1").emit("to-room", 2);
await marker();
await until("a", "to-room", 2);
never("b", "to-room", 2);

emitter.except("e1").emit("except-room", 3);
await marker();
await until("b", "except-room", 3);
never("a", "except-room", 3);

emitter.in("e1").socketsJoin("e2");
emitter.to("e2").emit("to-joined", 4);
await marker();
await until("a", "to-joined", 4);
never("b", "to-joined", 4);

emitter.in("e2").socketsLeave("e2");
emitter.to("e2").emit("to-left", 5);
await marker();
never("a", "to-left", 5);

emitter.serverSideEmit("hello", "from-emitter");
await until("a", "server-event", ["hello", "from-emitter"]);
await until("b", "server-event", ["hello", "from-emitter"]);

// Hostile input: nothing here may crash the node or reach a client.
const base = `${key}#/#`;
const junk = [
  [base, "not msgpack"],
  [base, Buffer.from([0xc1, 0xff, 0x00])],
  [base, encode({ uid: "x", packet: {}, opts: {} })],
  [base, encode(["x", { type: 2, data: "not an array", nsp: "/" }, {}])],
  [base, encode(["x", { type: 2, data: [42], nsp: "/" }, {}])],
  [base, encode([1, 2, 3])],
  [base, Buffer.concat([encode(["x", { type: 2, data: ["trailing"], nsp: "/" }, {}]), Buffer.from([0])])],
  [`${base}e1#`, "garbage in a room"],
  [`${key}-request#/#`, "{not json"],
  [`${key}-request#/#`, JSON.stringify({ uid: "x", type: 99 })],
  [`${key}-request#/#`, JSON.stringify({ uid: "x", type: 5 })],
  [`${key}-request#/#`, JSON.stringify({ uid: "x", type: 2, opts: "no", rooms: 7 })],
  [`${key}-request#/#`, JSON.stringify({ uid: "x", type: 6, data: "no" })],
  [`${key}-request#/#`, encode({ uid: "x", requestId: "r", type: 7, packet: 5 })],
  [`${key}-request#/#`, JSON.stringify([1, 2])],
  [`${key}-response#/#`, JSON.stringify({ requestId: "unknown", sockets: [] })],
  [`${key}-response#/#`, encode({ type: 9, requestId: "unknown", packet: "x" })],
  [`${key}-response#/#`, "\x00\x01"],
];
for (const [channel, payload] of junk) await redis.publish(channel, payload);
await marker();
for (const [event] of [["trailing"], [42]]) if (clients.a.log.some(([e]) => e === event)) fail(`a got ${event}`);
const count = await clients.b.socket.emitWithAck("server-count");
if (count !== 1) fail(`server count ${count}`);

emitter.in("e1").disconnectSockets();
await until("a", "disconnect", "io server disconnect");
await marker();
if (!clients.b.socket.connected) fail("b was disconnected");

console.log("ok emitter");
clearTimeout(timer);
for (const client of Object.values(clients)) client.socket.disconnect();
redis.disconnect();
process.exit(0);
