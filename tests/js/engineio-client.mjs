// Drives a server with the official engine.io-client.
//
//   node engineio-client.mjs <url> <polling|websocket|upgrade> echo
//     sends text and binary messages, checks that each comes back, exits 0 when all did;
//   node engineio-client.mjs <url> <polling|websocket|upgrade> hold
//     prints "open <sid> <transport>" and stays connected until killed.
import { Socket } from "engine.io-client";

const [url, mode, scenario] = process.argv.slice(2);
const transports = {
  polling: ["polling"],
  websocket: ["websocket"],
  upgrade: ["polling", "websocket"],
}[mode];
if (!transports || !["echo", "hold"].includes(scenario)) {
  console.error("usage: engineio-client.mjs <url> <polling|websocket|upgrade> <echo|hold>");
  process.exit(2);
}

const fail = (why) => {
  console.log(`fail ${why}`);
  process.exit(1);
};
const timer = setTimeout(() => fail("timeout"), 20_000);

const socket = new Socket(url, { transports, path: "/engine.io/" });
socket.on("error", (err) => fail(`error ${err && err.message}`));

const opened = new Promise((resolve) => socket.on("open", resolve));
const upgraded = new Promise((resolve) => socket.on("upgrade", resolve));
const received = [];
let waiter = null;
socket.on("message", (data) => {
  // The parser gives no data at all for an empty message.
  received.push(data ?? "");
  if (waiter) waiter();
});
const nextMessage = async () => {
  while (received.length === 0) {
    await new Promise((resolve) => (waiter = resolve));
  }
  return received.shift();
};

const same = (sent, got) => {
  if (typeof sent === "string") return got === sent;
  const bytes = got instanceof ArrayBuffer ? new Uint8Array(got) : new Uint8Array(got.buffer, got.byteOffset, got.byteLength);
  return typeof got !== "string" && bytes.length === sent.length && bytes.every((b, i) => b === sent[i]);
};

await opened;
if (scenario === "hold") {
  clearTimeout(timer);
  console.log(`open ${socket.id} ${socket.transport.name}`);
} else {
  if (mode === "upgrade") {
    await upgraded;
    if (socket.transport.name !== "websocket") fail(`transport ${socket.transport.name}`);
  }
  const messages = [
    "hello",
    "héllo wörld ✓",
    new Uint8Array([1, 2, 3, 255, 0]),
    "x".repeat(50_000),
    new Uint8Array(70_000).map((_, i) => i % 251),
    "",
  ];
  for (const message of messages) socket.send(message);
  for (const sent of messages) {
    const got = await nextMessage();
    if (!same(sent, got)) fail(`mismatch for a message of ${sent.length} (got ${typeof got} of ${got.length ?? got.byteLength})`);
  }
  console.log(`ok ${socket.transport.name}`);
  clearTimeout(timer);
  socket.close();
  process.exit(0);
}
