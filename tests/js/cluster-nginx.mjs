// The cluster example behind nginx, with the official socket.io-client.
//
//   node cluster-nginx.mjs <nginx url> <node url>
//
// A client through nginx connects over HTTP long-polling, upgrades to WebSocket and
// stays on its node throughout (the same node and socket id before and after the
// upgrade, and over 20 polling round trips for a polling-only client); a chat message
// sent by a client connected to a node directly reaches it through Redis. Prints
// "ok nginx" and exits 0, or "fail <why>" and exits 1 (after 30 s: "fail timeout").
import { io } from "socket.io-client";

const [proxy, direct] = process.argv.slice(2);
if (!proxy || !direct) {
  console.error("usage: cluster-nginx.mjs <nginx url> <node url>");
  process.exit(2);
}
const fail = (why) => {
  console.log(`fail ${why}`);
  process.exit(1);
};
const timer = setTimeout(() => fail("timeout"), 30_000);
process.on("unhandledRejection", (err) => fail(`exception ${err && err.stack ? err.stack : err}`));
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const viaProxy = io(proxy, { forceNew: true, reconnection: false });
viaProxy.on("connect_error", (err) => fail(`connect_error ${err.message}`));
// The engine exists from the start: its first transport, and its upgrade.
const engine = viaProxy.io.engine;
if (!engine || engine.transport.name !== "polling") fail(`first transport ${engine && engine.transport.name}`);
const upgraded = new Promise((resolve) => engine.once("upgrade", resolve));
await new Promise((resolve) => viaProxy.once("connect", resolve));
const engineId = engine.id;
const before = await viaProxy.timeout(5000).emitWithAck("whoami");
await upgraded;
if (engine.transport.name !== "websocket") fail(`upgraded to ${engine.transport.name}`);
if (engine.id !== engineId) fail("the engine session changed on upgrade");
const after = await viaProxy.timeout(5000).emitWithAck("whoami");
if (!same(before, after)) fail(`node changed on upgrade: ${JSON.stringify(before)} then ${JSON.stringify(after)}`);

const polling = io(proxy, { forceNew: true, reconnection: false, transports: ["polling"] });
await new Promise((resolve) => polling.once("connect", resolve));
const first = await polling.timeout(5000).emitWithAck("whoami");
for (let i = 0; i < 20; i++) {
  const again = await polling.timeout(5000).emitWithAck("whoami");
  if (!same(first, again)) fail(`polling client moved: ${JSON.stringify(first)} then ${JSON.stringify(again)}`);
}

// Across nodes: a client of a node reached directly speaks, the proxied one hears.
const other = io(direct, { forceNew: true, reconnection: false, transports: ["websocket"] });
await new Promise((resolve) => other.once("connect", resolve));
const heard = new Promise((resolve) => viaProxy.on("chat", (message) => message.text === "across" && resolve(message)));
other.emit("chat", "across");
const message = await heard;
const speaker = await other.timeout(5000).emitWithAck("whoami");
if (message.node !== speaker.node) fail(`chat from ${message.node}, want ${speaker.node}`);

console.log(`ok nginx (proxied client on ${after.node})`);
clearTimeout(timer);
for (const socket of [viaProxy, polling, other]) socket.disconnect();
process.exit(0);
