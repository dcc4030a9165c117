// The chat example's server, on the official Node `socket.io`: the reference that the chat
// page (examples/chat/static) and chat-browser.mjs are checked against, and that the Rust
// chat example mirrors.
//
//   node chat-server.mjs --port P [--static DIR]
//
// Serves DIR (default: examples/chat/static) at /, the official browser bundle at
// /socket.io.min.js, Socket.IO at /socket.io/, and prints "listening <port>".
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { Server } from "socket.io";

const here = fileURLToPath(new URL(".", import.meta.url));
const usage = () => {
  console.error("usage: chat-server.mjs --port P [--static DIR]");
  process.exit(2);
};

let port;
let staticDir = resolve(here, "../../examples/chat/static");
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  if (argv[i] === "--port" && /^\d+$/.test(argv[i + 1] ?? "")) port = Number(argv[i + 1]);
  else if (argv[i] === "--static" && argv[i + 1]) staticDir = resolve(argv[i + 1]);
  else usage();
}
if (port === undefined) usage();

// The bundle the Rust example serves (examples/chat/node_modules), else our own copy of
// the same pinned version.
const bundle = [
  resolve(here, "../../examples/chat/node_modules/socket.io-client/dist/socket.io.min.js"),
  resolve(here, "node_modules/socket.io-client/dist/socket.io.min.js"),
].find((path) => existsSync(path));
if (!bundle) {
  console.log("fail socket.io-client bundle missing: run npm ci");
  process.exit(1);
}

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

const httpServer = createServer(async (req, res) => {
  const { pathname } = new URL(req.url, "http://localhost");
  let file;
  if (pathname === "/socket.io.min.js") file = bundle;
  else {
    file = join(staticDir, decodeURIComponent(pathname === "/" ? "/index.html" : pathname));
    if (!file.startsWith(staticDir + sep)) file = null;
  }
  try {
    if (!file || (req.method !== "GET" && req.method !== "HEAD")) throw new Error("not found");
    const body = await readFile(file);
    res.writeHead(200, {
      "content-type": TYPES[extname(file)] ?? "application/octet-stream",
      "content-length": body.length,
    });
    res.end(req.method === "HEAD" ? undefined : body);
  } catch {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  }
});

const io = new Server(httpServer);

let numUsers = 0;
io.on("connection", (socket) => {
  let addedUser = false;

  socket.on("new message", (message) => {
    socket.broadcast.emit("new message", { username: socket.data.username, message });
  });

  socket.on("add user", (username) => {
    if (addedUser) return;
    socket.data.username = username;
    ++numUsers;
    addedUser = true;
    socket.emit("login", { numUsers });
    socket.broadcast.emit("user joined", { username, numUsers });
  });

  socket.on("typing", () => socket.broadcast.emit("typing", { username: socket.data.username }));
  socket.on("stop typing", () => socket.broadcast.emit("stop typing", { username: socket.data.username }));

  socket.on("disconnect", () => {
    if (!addedUser) return;
    --numUsers;
    socket.broadcast.emit("user left", { username: socket.data.username, numUsers });
  });
});

httpServer.on("error", (err) => {
  console.log(`fail ${err.message}`);
  process.exit(1);
});
httpServer.listen(port, "127.0.0.1", () => console.log(`listening ${httpServer.address().port}`));
