// Drives a cluster of nodes that share one Redis (ours, tests/src/bin/sio-redis-node.rs,
// and Node's, redis-node-server.mjs, with the same command contract) with the official
// socket.io-client: two clients per node, named n<node>c<client>.
//
//   node redis-cluster.mjs cluster <url>...            every scenario from every node,
//                                                     then the last node is killed
//   node redis-cluster.mjs mixed <url>...              every scenario from every node
//   node redis-cluster.mjs sharded <url>...            the same, for nodes in sharded mode
//                                                     (which has no all-rooms request)
//   node redis-cluster.mjs restart[-streams] <redis-port> <redis-pid> <url>...
//                                                     Redis is killed and started again
//                                                     on its port; traffic resumes
//   node redis-cluster.mjs streams <redis-url> <key> <url>...
//                                                     streams mode with connection state
//                                                     recovery: every scenario, each
//                                                     broadcast carrying the same stream
//                                                     id on every node, then clients
//                                                     that drop from one node recover
//                                                     on the next
//   node redis-cluster.mjs streams-hostile <redis-url> <key> <url>...
//                                                     streams mode, our nodes only:
//                                                     garbage in the stream and on the
//                                                     channels is ignored, traffic goes on
//
// Prints "ok <scenario>" and exits 0, or "fail <why>" and exits 1 (after 90 s: "fail
// timeout"). Every step waits for the events it expects, and a broadcast is checked for
// duplicates by a marker broadcast that follows it on the same channel.
import { spawn } from "node:child_process";
import { io } from "socket.io-client";
import { Redis } from "ioredis";
import { encode } from "notepack.io";

const [scenario, ...rest] = process.argv.slice(2);
let redisPort = null;
let redisPid = null;
const restart = scenario === "restart" || scenario === "restart-streams";
/** Classic mode: the nodes answer all-rooms requests. */
const classic = ["cluster", "mixed", "restart"].includes(scenario);
if (restart) {
  redisPort = rest.shift();
  redisPid = Number(rest.shift());
}
let redis = null;
let key = null;
const streams = scenario === "streams" || scenario === "streams-hostile";
if (streams) {
  redis = new Redis(rest.shift());
  key = rest.shift();
}
const urls = rest;
const scenarioNames = ["cluster", "mixed", "sharded", "restart", "restart-streams", "streams", "streams-hostile"];
if (!scenarioNames.includes(scenario) || urls.length < 2) {
  console.error("usage: redis-cluster.mjs <cluster|mixed|restart ...|streams ...> <url> <url>...");
  process.exit(2);
}
const fail = (why) => {
  console.log(`fail ${why}`);
  process.exit(1);
};
const timer = setTimeout(() => fail("timeout"), 90_000);
process.on("unhandledRejection", (err) => fail(`exception ${err && err.stack ? err.stack : err}`));
/** Keys sorted, deep: servers may send an object's keys in another order. */
const canon = (value) =>
  Array.isArray(value)
    ? value.map(canon)
    : value && typeof value === "object"
      ? Object.fromEntries(Object.keys(value).sort().map((key) => [key, canon(value[key])]))
      : value;
const same = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));
const expect = (what, got, want) => {
  if (!same(got, want)) fail(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
};

// Clients: two per node.
const clients = [];
for (const [node, url] of urls.entries()) {
  for (const index of [0, 1]) {
    const name = `n${node}c${index}`;
    const socket = io(url, { transports: ["websocket"], forceNew: true, reconnection: false, auth: { name } });
    const client = { name, node, socket, log: [], waiters: [] };
    socket.on("ask", (ack) => ack(name, "second"));
    socket.onAny((event, ...args) => {
      client.log.push([event, ...args]);
      for (const waiter of [...client.waiters]) waiter();
    });
    socket.on("disconnect", (reason) => {
      client.log.push(["disconnect", reason]);
      for (const waiter of [...client.waiters]) waiter();
    });
    socket.on("connect_error", (err) => fail(`connect_error ${name} ${err.message}`));
    clients.push(client);
  }
}
const byName = (name) => clients.find((client) => client.name === name);
const alive = () => clients.filter((client) => client.socket.connected);

/** Waits until `check(client.log)` holds, within 10 s. */
const until = (client, what, check) =>
  new Promise((resolve) => {
    if (check(client.log)) return resolve();
    const timeout = setTimeout(() => fail(`${client.name} never saw ${what}: ${JSON.stringify(client.log)}`), 10_000);
    const waiter = () => {
      if (!check(client.log)) return;
      clearTimeout(timeout);
      client.waiters.splice(client.waiters.indexOf(waiter), 1);
      resolve();
    };
    client.waiters.push(waiter);
  });
const ask = (client, event, ...args) =>
  client.socket
    .timeout(15_000)
    .emitWithAck(event, ...args)
    .catch((err) => fail(`${client.name} ${event} ${JSON.stringify(args)}: ${err.message}`));
const count = (log, event, data) => log.filter(([e, d]) => e === event && same(d, data)).length;
/** A stream entry's id, the offset of a broadcast when recovery is on. */
const isOffset = (value) => typeof value === "string" && /^[0-9]+-[0-9]+$/.test(value);

await Promise.all(clients.map((client) => new Promise((resolve) => client.socket.once("connect", resolve))));
const ids = {};
for (const client of clients) ids[client.name] = (await ask(client, "whoami")).sid;
const sids = (names) => names.map((name) => ids[name]).sort();
let marker = 0;

/** A broadcast from `from`: exactly the clients named receive it, each once. */
const broadcast = async (from, command, receivers) => {
  const data = { n: ++marker, text: "héllo", list: [1, 2.5, null, true, { deep: ["x"] }], big: 2 ** 40 };
  const event = `b${marker}`;
  expect(`broadcast ${event}`, await ask(from, "broadcast", { ...command, event, data }), true);
  const end = `end${marker}`;
  expect("end marker", await ask(from, "broadcast", { event: end, data: marker }), true);
  const offsets = new Set();
  for (const client of alive()) {
    await until(client, end, (log) => count(log, end, marker) === 1);
    const got = count(client.log, event, data);
    const want = receivers.includes(client.name) ? 1 : 0;
    if (got !== want) fail(`${client.name} got ${event} ${got} times (want ${want}): ${JSON.stringify(command)} log ${JSON.stringify(client.log.slice(-6))}`);
    if (streams && want === 1) {
      const received = client.log.find(([e, d]) => e === event && same(d, data));
      if (received.length !== 3 || !isOffset(received[2])) fail(`${client.name} got ${event} without its offset: ${JSON.stringify(received)}`);
      offsets.add(received[2]);
    }
  }
  // One stream entry: the same offset on every node.
  if (offsets.size > 1) fail(`${event} came with several offsets: ${JSON.stringify([...offsets])}`);
};

/** Asks again until the answer is `want`, for 10 s. */
const eventually = async (what, question, want) => {
  const start = Date.now();
  for (;;) {
    const got = await question();
    if (same(got, want)) return;
    if (Date.now() - start > 10_000) fail(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

const everyone = () => alive().map((client) => client.name);

const scenarios = async (origin) => {
  const from = byName(`n${origin}c0`);
  const other = byName(`n${(origin + 1) % urls.length}c1`);
  const last = byName(`n${urls.length - 1}c0`);
  const tag = `o${origin}`;
  // Rooms: r1 = {n0c0, other}, r2 = {other, last}.
  await ask(byName("n0c0"), "join", { rooms: [`${tag}r1`] });
  await ask(other, "join", { rooms: [`${tag}r1`, `${tag}r2`] });
  await ask(last, "join", { rooms: [`${tag}r2`] });
  const r1 = [...new Set(["n0c0", other.name])];
  const r2 = [...new Set([other.name, last.name])];
  const r1r2 = [...new Set([...r1, ...r2])];
  if (classic) {
    // Every node's rooms, the sockets' own ones included.
    for (const node of urls.keys()) {
      const rooms = await ask(byName(`n${node}c0`), "all-rooms");
      if (!Array.isArray(rooms)) fail(`all rooms from node ${node}: ${JSON.stringify(rooms)}`);
      expect(`all rooms from node ${node}`, rooms.filter((room) => room.startsWith(tag)), [`${tag}r1`, `${tag}r2`]);
      for (const client of alive()) if (!rooms.includes(ids[client.name])) fail(`all rooms from node ${node} lack ${client.name}'s own`);
    }
  }

  await broadcast(from, {}, everyone());
  await broadcast(from, { rooms: [`${tag}r1`] }, r1);
  await broadcast(from, { rooms: [`${tag}r2`] }, r2);
  await broadcast(from, { rooms: [`${tag}r1`, `${tag}r2`] }, r1r2);
  await broadcast(from, { rooms: [`${tag}r1`], except: [`${tag}r2`] }, r1.filter((n) => !r2.includes(n)));
  await broadcast(from, { except: [`${tag}r1`] }, everyone().filter((n) => !r1.includes(n)));
  await broadcast(from, { rooms: [ids[last.name]] }, [last.name]);

  expect("fetch all", await ask(from, "fetch", {}), sids(everyone()));
  expect("fetch r1", await ask(from, "fetch", { rooms: [`${tag}r1`] }), sids(r1));
  expect("fetch r1+r2 except r1", await ask(from, "fetch", { rooms: [`${tag}r2`], except: [`${tag}r1`] }), sids(r2.filter((n) => !r1.includes(n))));

  // Join and leave across nodes. A Node server applies these requests when its own
  // echo comes back from Redis, after it has answered: fetch until the result shows.
  expect("remote join", await ask(from, "remote-join", { rooms: [`${tag}r2`], room: `${tag}r3` }), true);
  await eventually("fetch r3", () => ask(other, "fetch", { rooms: [`${tag}r3`] }), sids(r2));
  expect("remote leave", await ask(other, "remote-leave", { rooms: [`${tag}r3`], room: `${tag}r3` }), true);
  await eventually("fetch r3 after leave", () => ask(from, "fetch", { rooms: [`${tag}r3`] }), []);

  // Server-side emits, with and without acks: every other node answers once.
  const others = urls.map((_, node) => node).filter((node) => node !== origin);
  const names = [];
  for (const node of others) names.push(JSON.parse(JSON.stringify((await ask(byName(`n${node}c0`), "whoami")).name)));
  expect("server-side emit with ack", await ask(from, "server-side-emit", { event: "hello", data: `hi${tag}`, timeout: 3000 }), names.sort());
  for (const client of alive().filter((c) => c.node !== origin)) {
    await until(client, "server-event", (log) => count(log, "server-event", ["hello", `hi${tag}`]) === 1);
  }
  expect("server-side emit", await ask(from, "server-side-emit", { event: "hello", data: `again${tag}` }), []);
  for (const client of alive().filter((c) => c.node !== origin)) {
    await until(client, "server-event", (log) => count(log, "server-event", ["hello", `again${tag}`]) === 1);
  }
  for (const client of alive().filter((c) => c.node === origin)) {
    if (count(client.log, "server-event", ["hello", `hi${tag}`]) !== 0) fail(`${client.name} got its own node's server-side emit`);
  }

  // Broadcast with acks: one answer (the first argument) from every client of every node.
  expect("broadcast acks", await ask(from, "broadcast-ack", { timeout: 3000 }), everyone().sort());
  expect("broadcast acks r2", await ask(from, "broadcast-ack", { rooms: [`${tag}r2`], timeout: 3000 }), r2.sort());
  expect("server count", await ask(from, "server-count"), urls.length);
};

/** A random JSON-like value: what a client may send, hence what a server broadcasts. */
const randomValue = (depth = 0) => {
  const pick = Math.floor(Math.random() * (depth > 2 ? 6 : 8));
  switch (pick) {
    case 0: return null;
    case 1: return Math.random() < 0.5;
    case 2: return Math.floor((Math.random() - 0.5) * 2 ** (1 + Math.floor(Math.random() * 53)));
    case 3: return (Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 20);
    case 4: return ["", "é", "日本語", "a".repeat(40), "x".repeat(300), "#/#", "🙂"][Math.floor(Math.random() * 7)];
    case 5: return Math.floor(Math.random() * 2 ** 53);
    case 6: return Array.from({ length: Math.floor(Math.random() * 5) }, () => randomValue(depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: Math.floor(Math.random() * 5) }, (_, i) => [`k${i}${"é".repeat(i)}`, randomValue(depth + 1)]));
  }
};

/** Random values broadcast from every node reach every client of every node intact, in order. */
const fidelity = async (origin) => {
  const from = byName(`n${origin}c1`);
  const values = Array.from({ length: 60 }, () => randomValue());
  const event = `fuzz${origin}`;
  for (const data of values) expect("fuzz broadcast", await ask(from, "broadcast", { event, data }), true);
  const end = `fuzz-end${origin}`;
  expect("fuzz end", await ask(from, "broadcast", { event: end, data: 0 }), true);
  for (const client of alive()) {
    await until(client, end, (log) => log.some(([e]) => e === end));
    const got = client.log.filter(([e]) => e === event).map(([, d]) => d);
    expect(`${client.name} random values from node ${origin}`, got, values);
  }
};

if (scenario === "streams-hostile") {
  // Nothing here may crash a node or reach a client. (A Node node would be stuck on some
  // of these entries: its reader throws on them and reads them again forever.)
  const entry = (fields) => redis.xadd(key, "*", ...Object.entries(fields).flat());
  const packed = (value) => encode(value).toString("base64");
  const junk = [
    { nsp: "/", uid: "evil", type: "3", data: "%%%" },
    { nsp: "/", uid: "evil", type: "3", data: "{oops" },
    { nsp: "/", uid: "evil", type: "3", data: JSON.stringify({ packet: 5 }) },
    { nsp: "/", uid: "evil", type: "3", data: JSON.stringify({ packet: { type: 2, data: "x" }, opts: 7 }) },
    { nsp: "/", uid: "evil", type: "3", data: JSON.stringify({ packet: { type: 2, data: [42] }, opts: {} }) },
    { nsp: "/", uid: "evil", type: "3", data: packed([1, 2]) },
    { nsp: "/", uid: "evil", type: "nope" },
    { nsp: "/", uid: "evil", type: "99", data: "{}" },
    { nsp: "/", uid: "evil", type: "8", data: JSON.stringify({ requestId: "unknown", sockets: [] }) },
    { nsp: "/", uid: "evil", type: "4", data: JSON.stringify({ opts: { rooms: 5 }, rooms: "x" }) },
    { nsp: "/", uid: "evil", type: "6", data: JSON.stringify({ opts: "all", close: "yes" }) },
    { foo: "bar" },
    { nsp: Buffer.from([0xff, 0xfe]), uid: "evil", type: "3", data: Buffer.from([0xff, 0x00]) },
  ];
  for (const fields of junk) await entry(fields);
  const channel = `${key}#/#`;
  const messages = [
    "not msgpack",
    Buffer.from([0xc1, 0xff, 0x00]),
    encode([1, 2, 3]),
    encode({ type: 7, uid: "x", nsp: "/" }),
    encode({ type: 9, uid: "x", nsp: "/", data: { packet: 5 } }),
    encode({ type: 3, uid: "x", nsp: "/", data: { requestId: "r", packet: { type: 2, data: [] }, opts: 1 } }),
    encode({ type: 12, uid: "x", nsp: "/", data: { requestId: "unknown", packet: 1 } }),
    JSON.stringify({ type: 3 }),
  ];
  for (const message of messages) await redis.publish(channel, message);
  await broadcast(byName("n0c0"), {}, everyone());
  await broadcast(byName("n1c0"), { rooms: [ids.n0c1] }, ["n0c1"]);
  for (const client of clients) if (client.log.some(([e]) => e === 42 || e === "42")) fail(`${client.name} got a junk event`);
  expect("server count", await ask(byName("n0c0"), "server-count"), urls.length);
  expect("fetch", await ask(byName("n1c1"), "fetch", {}), sids(everyone()));
  console.log(`ok ${scenario}`);
  for (const client of clients) client.socket.disconnect();
  redis.disconnect();
  process.exit(0);
}

for (const origin of urls.keys()) await scenarios(origin);
for (const origin of urls.keys()) await fidelity(origin);

// Disconnect across nodes: the sockets of a room, wherever they are.
{
  const from = byName("n0c1");
  const target = byName(`n${urls.length - 1}c1`);
  await ask(target, "join", { rooms: ["doomed"] });
  expect("remote disconnect", await ask(from, "remote-disconnect", { rooms: ["doomed"] }), true);
  await until(target, "disconnect", (log) => log.some(([e, r]) => e === "disconnect" && r === "io server disconnect"));
  await eventually("fetch after disconnect", () => ask(from, "fetch", {}), sids(everyone()));
}

if (scenario === "cluster") {
  // A node killed mid-run: the others stop counting it and answer within the timeout.
  const victim = urls.length - 1;
  const { pid } = await ask(byName(`n${victim}c0`), "whoami");
  process.kill(pid, "SIGKILL");
  for (const client of clients.filter((c) => c.node === victim)) {
    await until(client, "disconnect", (log) => log.some(([e]) => e === "disconnect"));
  }
  const from = byName("n0c0");
  const start = Date.now();
  while ((await ask(from, "server-count")) !== urls.length - 1) {
    if (Date.now() - start > 10_000) fail("the killed node is still counted");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect("fetch after kill", await ask(from, "fetch", {}), sids(everyone()));
  expect("acks after kill", await ask(from, "broadcast-ack", { timeout: 3000 }), everyone().sort());
  await broadcast(from, {}, everyone());
}

if (restart) {
  // Redis goes away and comes back on its port: the nodes reconnect, subscribe again,
  // and traffic resumes.
  process.kill(redisPid, "SIGKILL");
  const redis = spawn("redis-server", ["--port", redisPort, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  process.on("exit", () => redis.kill("SIGKILL"));
  const from = byName("n0c0");
  const start = Date.now();
  for (;;) {
    const got = await ask(from, "server-count").catch(() => null);
    if (got === urls.length) break;
    if (Date.now() - start > 20_000) fail(`server count ${JSON.stringify(got)} after the restart`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await broadcast(from, {}, everyone());
  expect("fetch after restart", await ask(byName("n1c0"), "fetch", {}), sids(everyone()));
  redis.kill("SIGKILL");
}

/** Waits until the node that held `socket` has kept its session in Redis. */
const sessionKept = async (socket) => {
  const start = Date.now();
  while (!(await redis.exists(`${key}:session:${socket._pid}`))) {
    if (Date.now() - start > 10_000) fail(`the session of ${socket.id} was not kept`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/** A client of node `from` drops; what is broadcast meanwhile reaches it on node `to`. */
const recover = async (from, to) => {
  const name = `x${from}${to}`;
  const room = `rec${from}${to}`;
  const x = io(urls[from], { transports: ["websocket"], forceNew: true, reconnection: false, auth: { name } });
  const client = { name, node: from, socket: x, log: [], waiters: [] };
  x.onAny((event, ...args) => {
    client.log.push([event, ...args]);
    for (const waiter of [...client.waiters]) waiter();
  });
  x.on("disconnect", (reason) => {
    client.log.push(["disconnect", reason]);
    for (const waiter of [...client.waiters]) waiter();
  });
  const connected = () => new Promise((resolve) => x.once("connect", resolve));
  await connected();
  if (x.recovered) fail(`${name} recovered on its first connection`);
  const firstId = x.id;
  await ask(client, "join", { rooms: [room] });
  // The sender is in the room too: when it has them all, they are all in the stream.
  const sender = byName(`n${to}c0`);
  await ask(sender, "join", { rooms: [room] });
  const send = async (command, event, data) => {
    expect(`broadcast ${event}`, await ask(sender, "broadcast", { ...command, event, data }), true);
  };
  await send({ rooms: [room] }, `${room}-0`, 0);
  await until(client, `${room}-0`, (log) => log.some(([e]) => e === `${room}-0`));

  // The connection drops: the node sees "transport close", a reason it keeps the
  // session for.
  x.io.engine.close();
  await until(client, "disconnect", (log) => log.some(([e]) => e === "disconnect"));
  await sessionKept(x);
  for (const n of [1, 2, 3]) await send({ rooms: [room] }, `${room}-${n}`, n);
  await send({}, `${room}-all`, "all");
  await send({ rooms: [`${room}-elsewhere`] }, `${room}-elsewhere`, "no");
  await send({ except: [room] }, `${room}-except`, "no");
  await until(sender, `${room}-all`, (log) => log.some(([e]) => e === `${room}-all`));

  // Back, on the other node.
  client.log.length = 0;
  x.io.uri = urls[to];
  const back = connected();
  x.connect();
  await back;
  if (!x.recovered) fail(`${name} was not recovered on node ${to}`);
  if (x.id !== firstId) fail(`${name} came back as ${x.id}, not ${firstId}`);
  const missed = client.log.filter(([e]) => e.startsWith(room));
  expect(`${name} missed`, missed.map(([e, d]) => [e, d]), [1, 2, 3].map((n) => [`${room}-${n}`, n]).concat([[`${room}-all`, "all"]]));
  for (const packet of missed) if (packet.length !== 3 || !isOffset(packet[2])) fail(`${name} replayed ${JSON.stringify(packet)} without its offset`);
  // Its rooms came back with it.
  await send({ rooms: [room] }, `${room}-4`, 4);
  await until(client, `${room}-4`, (log) => log.some(([e]) => e === `${room}-4`));
  expect(`${name} in its room`, await ask(byName(`n${from}c0`), "fetch", { rooms: [room] }), [firstId, ids[sender.name]].sort());

  // An offset the stream does not hold: a new session.
  x.io.engine.close();
  await until(client, "disconnect", (log) => log.filter(([e]) => e === "disconnect").length === 1);
  await sessionKept(x);
  x._lastOffset = "1-0";
  x.io.uri = urls[from];
  const again = connected();
  x.connect();
  await again;
  if (x.recovered) fail(`${name} recovered from an offset the stream does not hold`);
  if (x.id === firstId) fail(`${name} kept its id without being recovered`);
  x.disconnect();
  await ask(sender, "remote-leave", { rooms: [ids[sender.name]], room });
};

if (scenario === "streams") {
  for (const from of urls.keys()) await recover(from, (from + 1) % urls.length);
  redis.disconnect();
}

console.log(`ok ${scenario}`);
clearTimeout(timer);
for (const client of clients) client.socket.disconnect();
process.exit(0);
