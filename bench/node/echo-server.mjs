// The echo contract of examples/echo on the official socket.io 4.8 server, with its
// default options: the Node peer of the benchmarks.
//
//   node bench/node/echo-server.mjs --port P     (prints "listening <port>" when ready)
//
// On "/": on connect, emits "auth" with the handshake's auth object;
// "echo" (...args) -> emits "echo" with the same arguments to the sender;
// "ack" (...args, ack) -> acknowledges with the same arguments;
// "broadcast" (...args) -> emits "broadcast" with the same arguments to every socket of "/".
import { createServer } from "node:http";
import { Server } from "socket.io";

const flag = process.argv.indexOf("--port");
const port = flag >= 0 ? Number(process.argv[flag + 1]) : 3000;

const httpServer = createServer(); // noDelay is on by default
const io = new Server(httpServer, { cors: { origin: "*" } });

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
