// Two people chat through the chat page in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core): alice and bob log in, alice types "hello bob" and sends it,
// bob sees alice typing, then the message.
//
//   node chat-browser.mjs <url>
//   CHAT_SCREENSHOT=bob.png node chat-browser.mjs <url>   # also saves bob's page
//
// Prints "ok chat" and exits 0, or "fail <why>" and exits 1 (after 30 s: "fail timeout").
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

// CHROMIUM_PATH points elsewhere where the browser is not Debian's (a CI runner's Chrome).
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: chat-browser.mjs <url>");
  process.exit(2);
}

let browser = null;
const fail = (why) => {
  const text = String(why && why.message ? why.message : why);
  if (text.includes("\n")) console.error(text);
  console.log(`fail ${text.split("\n")[0]}`);
  // Playwright kills the browser it launched when Node exits.
  process.exit(1);
};
const timer = setTimeout(() => fail("timeout"), 30_000);
process.on("unhandledRejection", fail);

if (!existsSync(CHROMIUM)) fail("chromium missing");

const main = async () => {
  // chromium.launch gives the browser a fresh, temporary user data dir of its own.
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });

  /** A page of its own browser context (own cookies and storage), as a second person would have. */
  const openPage = async (who) => {
    const context = await browser.newContext({ viewport: { width: 900, height: 640 } });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on("pageerror", (err) => fail(`${who}'s page: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error") console.error(`${who}'s console: ${msg.text()}`);
    });
    const response = await page.goto(url);
    if (!response || !response.ok()) fail(`${who}: GET ${url}: ${response ? response.status() : "no response"}`);
    const hasIo = await page.evaluate(() => typeof window.io === "function");
    if (!hasIo) fail(`${who}: /socket.io.min.js did not define io`);
    return page;
  };

  /** Resolves once the page's list has a `li.log` whose text is `text`. */
  const logShown = (page, text) =>
    page.waitForFunction(
      (want) => [...document.querySelectorAll("#messages li.log")].some((li) => li.textContent === want),
      text,
    );

  /** Resolves once the page's list has a `li.message` from `username` whose body is `body`. */
  const messageShown = (page, username, body) =>
    page.waitForFunction(
      ([from, text]) =>
        [...document.querySelectorAll("#messages li.message")].some(
          (li) => li.querySelector(".username")?.textContent === from && li.querySelector(".body")?.textContent === text,
        ),
      [username, body],
    );

  const login = async (page, name) => {
    await page.fill("#nickname", name);
    await page.press("#nickname", "Enter");
    await logShown(page, "Welcome to Socket.IO chat");
  };

  const alice = await openPage("alice");
  const bob = await openPage("bob");

  await login(alice, "alice");
  const bobJoined = logShown(alice, "bob joined");
  await login(bob, "bob");
  await bobJoined;

  // alice types; bob sees her typing (the indicator stays until 400 ms after her last key).
  await alice.focus("#message");
  const aliceTyping = bob.waitForFunction(() => document.getElementById("typing").textContent.startsWith("alice is typing"));
  await alice.keyboard.type("hello bob", { delay: 25 });
  await aliceTyping;

  await alice.keyboard.press("Enter");
  await messageShown(alice, "alice", "hello bob"); // shown locally
  await messageShown(bob, "alice", "hello bob");
  // Sending ends the typing: bob's indicator clears.
  await bob.waitForFunction(() => document.getElementById("typing").textContent === "");

  if (process.env.CHAT_SCREENSHOT) await bob.screenshot({ path: process.env.CHAT_SCREENSHOT });

  await browser.close();
  clearTimeout(timer);
  console.log("ok chat");
  process.exit(0);
};

main().catch(fail);
