// The echo contract of examples/echo on the official socket.io 4.8 server, with its
// default options: the Node peer of the benchmarks.
//
//   node bench/node/echo-server.mjs --port P [--redis URL]
//                                   (prints "listening <port>" when ready)
//
// With --redis, a cluster node: @socket.io/redis-adapter 8.3 (classic, key "socket.io")
// on ioredis, listening once its adapter is subscribed.
//
// On "/": on connect, emits "auth" with the handshake's auth object;
// "echo" (...args) -> emits "echo" with the same arguments to the sender;
// "ack" (...args, ack) -> acknowledges with the same arguments;
// "broadcast" (...args) -> emits "broadcast" with the same arguments to every socket of "/".
import { createServer } from "node:http";
import { Server } from "socket.io";

const value = (name) => {
  const flag = process.argv.indexOf(name);
  return flag >= 0 ? process.argv[flag + 1] : undefined;
};
const port = Number(value("--port") ?? 3000);
const redisUrl = value("--redis");

const httpServer = createServer(); // noDelay is on by default
const io = new Server(httpServer, { cors: { origin: "*" } });
if (redisUrl) {
  // Loaded only for a cluster node: a single server stays what it is.
  const { createAdapter } = await import("@socket.io/redis-adapter");
  const { Redis } = await import("ioredis");
  const pub = new Redis(redisUrl);
  const sub = pub.duplicate();
  io.adapter(createAdapter(pub, sub));
  const own = `socket.io-response#/#${io.of("/").adapter.uid}#`;
  for (;;) {
    const [, count] = await pub.pubsub("NUMSUB", own);
    if (Number(count) >= 1) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

io.on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth);
  socket.on("echo", (...args) => {
    socket.emit("echo", ...args);
  });
  socket.on("ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
  socket.on("broadcast", (...args) => {
    io.emit("broadcast", ...args);
  });
});

// The default backlog (511) is kept: Node's default is what its users get.
httpServer.listen(port, "127.0.0.1", () => {
  console.log(`listening ${httpServer.address().port}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => process.exit(0));
}
