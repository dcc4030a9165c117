// The reference fixture: the official Node `socket.io` server with the handlers that the
// interop scenarios (sio-client.mjs) expect. Our Rust fixture implements the same contract,
// so that the very same client scripts run against both.
//
//   node fixture-server.mjs --port P [--ping-interval MS] [--ping-timeout MS]
//                           [--connect-timeout MS] [--max-payload BYTES] [--recovery MS]
//                           [--parser msgpack]
//
// Binds 127.0.0.1:P (P = 0: any free port), prints "listening <port>" once it listens,
// and "disconnect <namespace> <socket id> <reason>" whenever a socket of / or /custom
// disconnects. See README.md beside this file for the contract.
import { createServer } from "node:http";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";

const usage = () => {
  console.error(
    "usage: fixture-server.mjs --port P [--ping-interval MS --ping-timeout MS --connect-timeout MS --max-payload BYTES]",
  );
  process.exit(2);
};

const flags = {
  "--port": "port",
  "--ping-interval": "pingInterval",
  "--ping-timeout": "pingTimeout",
  "--connect-timeout": "connectTimeout",
  "--max-payload": "maxHttpBufferSize",
  "--recovery": "recovery",
};
const settings = {};
const argv = process.argv.slice(2);
const parserAt = argv.indexOf("--parser");
const useMsgpack = parserAt !== -1 && argv[parserAt + 1] === "msgpack";
if (parserAt !== -1) {
  if (!useMsgpack) usage();
  argv.splice(parserAt, 2);
}
for (let i = 0; i < argv.length; i += 2) {
  const key = flags[argv[i]];
  const value = Number(argv[i + 1]);
  if (!key || !Number.isInteger(value) || value < 0) usage();
  settings[key] = value;
}
const { port, recovery, ...options } = settings;
if (useMsgpack) options.parser = msgpackParser;
if (port === undefined) usage();
if (recovery !== undefined) {
  options.connectionStateRecovery = { maxDisconnectionDuration: recovery, skipMiddlewares: true };
}

const httpServer = createServer();
const io = new Server(httpServer, { cors: { origin: "*" }, ...options });

/** Calls `then(ack)` with the ack callback that ends `args` (taken off them); an event sent
 * without an ack id is ignored, where calling the missing ack would crash the process. */
const withAck = (args, then) => {
  if (typeof args.at(-1) === "function") then(args.pop());
};

// The handshake response sets a cookie, for the clients' cookie jars.
io.engine.on("initial_headers", (headers) => {
  headers["set-cookie"] = "fixture=yummy; Path=/";
});

/** For the client's retry queue: the `retry` events in the order they arrived, and how
 * many times each key was seen. */
const retryLog = [];
const retryCounts = new Map();

const root = io.of("/");
root.on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth);

  socket.on("message", (...args) => socket.emit("message-back", ...args));
  socket.on("message-with-ack", (...args) => withAck(args, (ack) => ack(...args)));
  socket.on("echo", (...args) => socket.emit("echo", ...args));
  socket.on("ack", (...args) => withAck(args, (ack) => ack(...args)));
  socket.on("broadcast", (...args) => root.emit("broadcast", ...args));
  socket.on("server-ack", (...args) => {
    socket.timeout(2000).emit("ask", ...args, (err, ...response) => {
      if (err) socket.emit("server-ack-result", "timeout");
      else socket.emit("server-ack-result", ...response);
    });
  });
  socket.on("handshake", (...args) =>
    withAck(args, (ack) => ack({ auth: socket.handshake.auth, query: socket.handshake.query })),
  );
  socket.on("disconnect-me", () => socket.disconnect());
  socket.on("close-transport", () => socket.conn.close());
  socket.on("join", (room) => socket.join(room));
  socket.on("leave", (room) => socket.leave(room));
  socket.on("to-room", (room, ...args) => root.to(room).emit("to-room", ...args));
  socket.on("to-rooms", (rooms, ...args) => root.to(rooms).emit("to-rooms", ...args));
  socket.on("except-room", (room, ...args) => root.except(room).emit("except-room", ...args));
  socket.on("ack-all", (...args) =>
    withAck(args, async (ack) => {
      const answers = [];
      try {
        answers.push(...(await root.timeout(1000).emitWithAck("ack-all", ...args)));
      } catch (err) {
        // Some clients did not answer: send those that did.
        answers.push(...(err.responses || []));
      }
      ack(answers);
    }),
  );

  socket.on("retry", (key, failures, ...rest) =>
    withAck(rest, (ack) => {
      const count = (retryCounts.get(key) || 0) + 1;
      retryCounts.set(key, count);
      retryLog.push(key);
      if (count > failures) ack(count);
    }),
  );
  socket.on("header", (name, ...rest) =>
    withAck(rest, (ack) => ack(socket.handshake.headers[name] ?? null)),
  );
  socket.on("retry-log", (...args) => withAck(args, (ack) => ack(retryLog)));

  socket.on("disconnect", (reason) => console.log(`disconnect / ${socket.id} ${reason}`));
});

io.of("/custom").on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth);
  socket.on("disconnect", (reason) => console.log(`disconnect /custom ${socket.id} ${reason}`));
});

io.of(/^\/dyn\/[^/]+$/).on("connection", (socket) => {
  socket.emit("hello", socket.nsp.name);
});

const auth = io.of("/auth");
auth.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === "secret") return next();
  const err = new Error("unauthorized");
  err.data = { reason: "bad token" };
  next(err);
});
auth.on("connection", (socket) => socket.emit("welcome"));

httpServer.on("error", (err) => {
  console.log(`fail ${err.message}`);
  process.exit(1);
});
httpServer.listen(port, "127.0.0.1", () => {
  console.log(`listening ${httpServer.address().port}`);
});

