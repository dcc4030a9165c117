//! The Manager's driver and its sockets: CONNECT packets out, packets in, dispatched to
//! the socket of their namespace (events to its handlers, acks to their waiters).

use super::*;

impl Driver {
    pub(super) fn send_connect(&mut self, core: &Arc<SocketCore>) {
        let auth = core
            .auth
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        match auth {
            AuthSource::None => self.send_connect_with(core, Value::Null),
            AuthSource::Value(value) => self.send_connect_with(core, value),
            AuthSource::Fn(auth) => {
                let io = self.io_tx.clone();
                let (key, epoch) = (core.key, self.epoch);
                tokio::spawn(async move {
                    let auth = auth().await;
                    let _ = io.send(Io::Auth { key, epoch, auth }).await;
                });
            }
        }
    }

    pub(super) fn send_connect_with(&mut self, core: &Arc<SocketCore>, auth: Value) {
        let (pid, offset) = {
            let state = core.lock();
            (state.pid.clone(), state.offset.clone())
        };
        let data = connect_data(auth, pid, offset);
        self.send_packet(&Packet::connect(core.nsp.clone(), data));
    }

    pub(super) fn send_packet(&mut self, packet: &Packet) {
        let Some(engine) = &mut self.engine else {
            return;
        };
        // As the official client before a write: a process that was suspended learns
        // here that its connection is gone, rather than writing into it.
        engine
            .session
            .check_wall_clock(Instant::now(), SystemTime::now());
        let messages = match self.codec.encode_messages(packet) {
            Ok(messages) => messages,
            Err(err) => {
                tracing::warn!(%err, "a packet could not be encoded");
                return;
            }
        };
        for message in messages {
            let message = match message {
                Message::Text(text) => EngineMessage::Text(text),
                Message::Binary(data) => EngineMessage::Binary(data),
                _ => continue,
            };
            if let Err(err) = engine.session.send(message) {
                tracing::warn!(%err, "a packet was dropped");
            }
        }
    }

    /// A socket loses its connection; `reason` says whether for good.
    pub(super) fn socket_closed(&mut self, core: &Arc<SocketCore>, reason: DisconnectReason) {
        let mut fx = Effects::default();
        let was_connected = {
            let mut state = core.lock();
            let was = state.connected;
            state.connected = false;
            state.id = None;
            state.clear_acks(&core.queue_ctx(Instant::now()), &mut fx);
            was
        };
        fx.resolve_all();
        if reason.is_final() || !self.shared.config.reconnection {
            core.set_status(Status::Failed(ConnectError::Disconnected(reason.as_str())));
        } else {
            core.set_status(Status::Connecting);
        }
        if was_connected {
            self.dispatch_reserved(core, "disconnect", Value::from(reason.as_str()));
            core.publish(&SocketEvent::Disconnect(reason));
        }
    }

    pub(super) fn on_packet(&mut self, packet: Packet) {
        let Some(core) = self
            .sockets
            .values()
            .find(|core| core.nsp == packet.nsp)
            .cloned()
        else {
            tracing::debug!(nsp = %packet.nsp, "a packet for no socket");
            return;
        };
        match packet.kind {
            PacketKind::Connect(data) => self.on_connect(&core, data),
            PacketKind::Event { event, args, ack } => self.on_event(&core, event, args, ack),
            PacketKind::Ack { ack, args } => {
                let mut fx = Effects::default();
                core.lock()
                    .settle(ack, Ok(args), &core.queue_ctx(Instant::now()), &mut fx);
                self.apply(&core, fx);
            }
            PacketKind::Disconnect => {
                self.sockets.remove(&core.key);
                core.lock().active = false;
                self.socket_closed(&core, DisconnectReason::IoServerDisconnect);
                self.maybe_close();
            }
            PacketKind::ConnectError(data) => {
                self.sockets.remove(&core.key);
                core.lock().active = false;
                let (message, data) = match data {
                    Value::String(message) => (message, Value::Null),
                    Value::Object(mut map) => (
                        map.remove("message")
                            .and_then(|message| message.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        map.remove("data").unwrap_or_default(),
                    ),
                    other => (String::new(), other),
                };
                let err = ConnectError::Refused {
                    message: message.clone(),
                    data: data.clone(),
                };
                core.set_status(Status::Failed(err.clone()));
                self.dispatch_reserved(&core, "connect_error", connect_error_value(&message, data));
                core.publish(&SocketEvent::ConnectError(err));
                self.maybe_close();
            }
            _ => {}
        }
    }

    pub(super) fn on_connect(&mut self, core: &Arc<SocketCore>, data: Option<Value>) {
        let field = |name: &str| {
            data.as_ref()
                .and_then(Value::as_object)
                .and_then(|map| map.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let Some(sid) = field("sid") else {
            // The official client's words for a Socket.IO v2 server.
            let err = ConnectError::Refused {
                message: "It seems you are trying to reach a Socket.IO server in v2.x with a \
                          v3.x client, but they are not compatible \
                          (more information here: https://socket.io/docs/v3/migrating-from-2-x-to-3-0/)"
                    .to_owned(),
                data: Value::Null,
            };
            tracing::warn!(nsp = %core.nsp, "a CONNECT without sid");
            if let ConnectError::Refused { message, .. } = &err {
                self.dispatch_reserved(
                    core,
                    "connect_error",
                    connect_error_value(message, Value::Null),
                );
            }
            core.set_status(Status::Failed(err.clone()));
            core.publish(&SocketEvent::ConnectError(err));
            return;
        };
        let pid = field("pid");
        let now = Instant::now();
        let mut fx = Effects::default();
        let (received, buffered): (Vec<_>, Vec<Packet>) = {
            let mut state = core.lock();
            state.recovered = pid.is_some() && state.pid == pid;
            state.pid = pid;
            state.id = Some(sid);
            state.connected = true;
            (
                state.receive_buffer.drain(..).collect(),
                state.send_buffer.drain(..).collect(),
            )
        };
        for (event, args, ack) in received {
            self.deliver(core, event, args, ack);
        }
        for packet in &buffered {
            self.send_packet(packet);
        }
        core.set_status(Status::Connected);
        self.dispatch_reserved(core, "connect", Value::Null);
        core.publish(&SocketEvent::Connect);
        core.lock().drain_queue(true, &core.queue_ctx(now), &mut fx);
        self.apply(core, fx);
    }

    pub(super) fn on_event(
        &mut self,
        core: &Arc<SocketCore>,
        event: ByteString,
        args: Args,
        ack: Option<u64>,
    ) {
        {
            let mut state = core.lock();
            if state.pid.is_some() {
                // Connection state recovery: the server appends the offset.
                if let Some(Value::String(offset)) =
                    args.to_values().ok().and_then(|mut values| values.pop())
                {
                    state.offset = Some(offset);
                }
            }
            if !state.connected {
                // A recovering server sends the missed events before its CONNECT: they
                // are delivered once it comes, as the official client does.
                if state.receive_buffer.len() < core.options.max_buffered_packets {
                    state.receive_buffer.push_back((event, args, ack));
                } else {
                    tracing::warn!(nsp = %core.nsp, %event, "an event before CONNECT dropped: the buffer is full");
                }
                return;
            }
        }
        self.deliver(core, event, args, ack);
    }

    pub(super) fn deliver(
        &mut self,
        core: &Arc<SocketCore>,
        event: ByteString,
        args: Args,
        ack: Option<u64>,
    ) {
        let Some(socket) = self.socket_handle(core) else {
            return;
        };
        core.publish(&SocketEvent::Event {
            event: event.clone(),
            args: args.clone(),
            ack: ack.map(|id| AckSender::new(socket.clone(), id)),
        });
        let handlers: Vec<ErasedHandler> = core
            .handlers
            .any
            .iter()
            .chain(core.handlers.for_event(&event))
            .cloned()
            .collect();
        if !handlers.is_empty() {
            self.backlog.add(handlers.len());
            let _ = self.dispatch.send(Dispatch {
                handlers,
                ctx: EventContext {
                    socket,
                    event,
                    args,
                    ack,
                },
            });
        }
    }

    pub(super) fn dispatch_reserved(
        &self,
        core: &Arc<SocketCore>,
        event: &'static str,
        arg: Value,
    ) {
        let handlers: Vec<ErasedHandler> = core.handlers.for_event(event).cloned().collect();
        if handlers.is_empty() {
            return;
        }
        let Some(socket) = self.socket_handle(core) else {
            return;
        };
        let args = if arg.is_null() {
            Args::new()
        } else {
            Args::from_values(vec![arg])
        };
        self.backlog.add(handlers.len());
        let _ = self.dispatch.send(Dispatch {
            handlers,
            ctx: EventContext {
                socket,
                event: ByteString::from_static(event),
                args,
                ack: None,
            },
        });
    }

    /// Carries out the effects of a bookkeeping step.
    pub(super) fn apply(&mut self, core: &Arc<SocketCore>, mut fx: Effects) {
        fx.resolve_all();
        for out in fx.send {
            if let Some((id, deadline)) = out.timer {
                self.timers
                    .insert((deadline, core.key, id), Arc::downgrade(core));
            }
            self.send_packet(&out.packet);
        }
    }
}
