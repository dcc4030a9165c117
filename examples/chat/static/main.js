// The classic Socket.IO chat, in plain JavaScript. The server's events:
//   login        { numUsers }             our "add user" was accepted
//   new message  { username, message }    someone else said something
//   user joined  { username, numUsers }
//   user left    { username, numUsers }
//   typing       { username }
//   stop typing  { username }
// and the events we send: "add user" (username), "new message" (text), "typing", "stop typing".
"use strict";

(() => {
  const TYPING_TIMER_LENGTH = 400; // ms without a keystroke before "stop typing"
  const COLORS = [
    "#e21400", "#91580f", "#f8a700", "#f78b00",
    "#58dc00", "#287b00", "#a8f07a", "#4ae8c4",
    "#3b88eb", "#3824aa", "#a700ff", "#d300e7",
  ];

  const loginSection = document.getElementById("login");
  const loginForm = document.getElementById("login-form");
  const nicknameInput = document.getElementById("nickname");
  const chatSection = document.getElementById("chat");
  const messages = document.getElementById("messages");
  const typingLine = document.getElementById("typing");
  const messageForm = document.getElementById("message-form");
  const messageInput = document.getElementById("message");
  const status = document.getElementById("status");

  const socket = io();

  let username = null;
  let welcomed = false;
  let typing = false;
  let typingTimer = null;
  const typists = new Set(); // who is typing now, in the order they started

  // ---- rendering ------------------------------------------------------------------------

  const colorOf = (name) => {
    let hash = 7;
    for (const ch of name) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
    return COLORS[hash % COLORS.length];
  };

  const append = (li) => {
    const atBottom = messages.scrollHeight - messages.scrollTop - messages.clientHeight < 40;
    messages.appendChild(li);
    if (atBottom) messages.scrollTop = messages.scrollHeight;
  };

  const log = (text) => {
    const li = document.createElement("li");
    li.className = "log";
    li.textContent = text;
    append(li);
  };

  const addMessage = ({ username: from, message }) => {
    const li = document.createElement("li");
    li.className = from === username ? "message mine" : "message";
    const name = document.createElement("span");
    name.className = "username";
    name.textContent = from;
    name.style.color = colorOf(from);
    const body = document.createElement("span");
    body.className = "body";
    body.textContent = message;
    li.append(name, body);
    append(li);
  };

  const participants = (numUsers) =>
    numUsers === 1 ? "there's 1 participant" : `there are ${numUsers} participants`;

  const renderTyping = () => {
    const names = [...typists];
    if (names.length === 0) typingLine.textContent = "";
    else if (names.length === 1) typingLine.textContent = `${names[0]} is typing…`;
    else typingLine.textContent = `${names.slice(0, -1).join(", ")} and ${names.at(-1)} are typing…`;
  };

  const setStatus = (text, online) => {
    status.textContent = text;
    status.classList.toggle("online", online);
  };

  // ---- what the user does ---------------------------------------------------------------

  loginForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = nicknameInput.value.trim();
    if (!name) return;
    username = name;
    loginSection.hidden = true;
    chatSection.hidden = false;
    messageInput.focus();
    socket.emit("add user", username);
  });

  messageForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = messageInput.value.trim();
    if (!text || !username) return;
    messageInput.value = "";
    addMessage({ username, message: text });
    socket.emit("new message", text);
    stopTyping();
  });

  const stopTyping = () => {
    clearTimeout(typingTimer);
    if (typing) {
      typing = false;
      socket.emit("stop typing");
    }
  };

  messageInput.addEventListener("input", () => {
    if (!username || !socket.connected) return;
    if (!typing) {
      typing = true;
      socket.emit("typing");
    }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, TYPING_TIMER_LENGTH);
  });

  // ---- what the server says -------------------------------------------------------------
  // The page connects at once, but shows the room's events only after joining it.

  socket.on("connect", () => setStatus("connected", true));

  socket.on("login", ({ numUsers }) => {
    if (!welcomed) log("Welcome to Socket.IO chat"); // not again after a reconnection
    welcomed = true;
    log(participants(numUsers));
  });

  socket.on("new message", (data) => {
    if (!username) return;
    typists.delete(data.username);
    renderTyping();
    addMessage(data);
  });

  socket.on("user joined", ({ username: who, numUsers }) => {
    if (!username) return;
    log(`${who} joined`);
    log(participants(numUsers));
  });

  socket.on("user left", ({ username: who, numUsers }) => {
    if (!username) return;
    log(`${who} left`);
    log(participants(numUsers));
    typists.delete(who);
    renderTyping();
  });

  socket.on("typing", ({ username: who }) => {
    if (!username) return;
    typists.add(who);
    renderTyping();
  });

  socket.on("stop typing", ({ username: who }) => {
    typists.delete(who);
    renderTyping();
  });

  socket.on("disconnect", () => {
    setStatus("disconnected", false);
    typing = false;
    typists.clear();
    renderTyping();
    if (username) log("you have been disconnected");
  });

  socket.io.on("reconnect", () => {
    if (!username) return;
    log("you have been reconnected");
    socket.emit("add user", username);
  });

  socket.io.on("reconnect_error", () => {
    if (username) log("attempt to reconnect has failed");
  });
})();
