// The Redis cluster node of the adapter tests on Node's own stack: socket.io 4.8 with
// @socket.io/redis-adapter 8.3 (classic mode) on ioredis. The same command contract as
// our tests/src/bin/sio-redis-node.rs (see its header).
//
//   node redis-node-server.mjs --name NAME --redis URL --key PREFIX
//       [--mode classic|classic-specific|sharded|sharded-static|sharded-private|streams|streams-sharded]
//
// classic-specific is the classic adapter with publishOnSpecificResponseChannel.
//
// The sharded modes run createShardedAdapter (channelPrefix PREFIX) with the
// subscriptionMode dynamic, static or dynamic-private; streams runs
// @socket.io/redis-streams-adapter 0.3 (stream and channel prefix PREFIX, sessions under
// PREFIX:session:) with connection state recovery on (60 s), streams-sharded the same
// with useShardedPubSub. Prints "listening <port>"
// once its adapter is subscribed (and in streams mode, reads the stream).
import { createServer } from "node:http";
import { Server } from "socket.io";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
import { Redis } from "ioredis";

const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  if (at < 0 && fallback !== undefined) return fallback;
  if (at < 0 || at + 1 >= process.argv.length) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return process.argv[at + 1];
};
const name = arg("--name");
const url = arg("--redis");
const key = arg("--key");
const mode = arg("--mode", "classic");
const subscriptionMode = { sharded: "dynamic", "sharded-static": "static", "sharded-private": "dynamic-private" }[mode];

const pub = new Redis(url);
const sub = pub.duplicate();
// The streams adapter duplicates this client for its stream reader: named, so that we
// can see when it blocks reading (only then is nothing added to the stream missed).
const readerName = `reader-${key}`.replace(/[^A-Za-z0-9_-]/g, "_");
const duplicate = pub.duplicate.bind(pub);
pub.duplicate = (options) => duplicate({ ...options, connectionName: readerName });
const http = createServer();
const adapter =
  mode.startsWith("classic")
    ? createAdapter(pub, sub, { key, requestsTimeout: 2000, publishOnSpecificResponseChannel: mode === "classic-specific" })
    : mode.startsWith("streams")
      ? createStreamsAdapter(pub, {
          streamName: key,
          channelPrefix: key,
          sessionKeyPrefix: `${key}:session:`,
          useShardedPubSub: mode === "streams-sharded",
        })
      : createShardedAdapter(pub, sub, { channelPrefix: key, subscriptionMode });
const recovery = mode.startsWith("streams") ? { connectionStateRecovery: { maxDisconnectionDuration: 60_000 } } : {};
const io = new Server(http, { adapter, ...recovery });

const text = (value) => (typeof value === "string" ? value : JSON.stringify(value));
const sorted = (values) => values.map(text).sort();

io.on("hello", (...args) => {
  const ack = typeof args.at(-1) === "function" ? args.pop() : null;
  io.local.emit("server-event", ["hello", ...args]);
  if (ack) ack(name);
});

io.on("connection", (socket) => {
  socket.on("whoami", (ack) => ack({ name, pid: process.pid, sid: socket.id }));
  socket.on("join", (command, ack) => {
    socket.join(command.rooms || []);
    ack("ok");
  });
  socket.on("broadcast", (command, ack) => {
    io.to(command.rooms || []).except(command.except || []).emit(command.event, command.data);
    ack(true);
  });
  socket.on("broadcast-ack", (command, ack) => {
    io.to(command.rooms || [])
      .timeout(command.timeout || 2000)
      .emit("ask", (err, responses) => {
        const answers = sorted(responses || []);
        if (err) answers.push("timeout");
        ack(answers.sort());
      });
  });
  socket.on("fetch", async (command, ack) => {
    try {
      const sockets = await io.in(command.rooms || []).except(command.except || []).fetchSockets();
      ack(sockets.map((s) => s.id).sort());
    } catch (err) {
      ack({ error: err.message });
    }
  });
  socket.on("remote-join", (command, ack) => {
    io.in(command.rooms || []).socketsJoin(command.room);
    ack(true);
  });
  socket.on("remote-leave", (command, ack) => {
    io.in(command.rooms || []).socketsLeave(command.room);
    ack(true);
  });
  socket.on("remote-disconnect", (command, ack) => {
    io.in(command.rooms || []).disconnectSockets();
    ack(true);
  });
  socket.on("server-side-emit", async (command, ack) => {
    const data = Array.isArray(command.data) ? command.data : [command.data];
    if (command.timeout === undefined) {
      io.serverSideEmit(command.event, ...data);
      return ack([]);
    }
    try {
      // Waits for the adapter's requestsTimeout.
      const answers = await io.serverSideEmitWithAck(command.event, ...data);
      ack(sorted(answers));
    } catch (err) {
      ack({ error: err.message });
    }
  });
  socket.on("server-count", async (ack) => ack(await io.of("/").adapter.serverCount()));
  socket.on("all-rooms", async (ack) => {
    try {
      ack([...(await io.of("/").adapter.allRooms())].sort());
    } catch (err) {
      ack({ error: err.message });
    }
  });
});

// Subscribed once our own response channel has its subscriber.
const uid = io.of("/").adapter.uid;
const own = mode.startsWith("classic") ? `${key}-response#/#${uid}#` : `${key}#/#${uid}#`;
const deadline = Date.now() + 20_000;
const blockedReading = async () =>
  (await pub.client("LIST")).split("\n").some((line) => line.includes(`name=${readerName} `) && line.includes("cmd=xread"));
for (;;) {
  const sharded = mode.startsWith("sharded") || mode === "streams-sharded";
  const [, count] = await pub.pubsub(sharded ? "SHARDNUMSUB" : "NUMSUB", own);
  if (Number(count) >= 1 && (!mode.startsWith("streams") || (await blockedReading()))) break;
  if (Date.now() > deadline) {
    console.error("not subscribed within 20 s");
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
}
http.listen(0, "127.0.0.1", () => console.log(`listening ${http.address().port}`));
