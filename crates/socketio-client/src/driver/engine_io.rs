//! The Manager's driver and its Engine.IO session: inputs from the transports (GET and
//! POST results, WebSocket reports) go in, the session's transmits go out as requests
//! and frames, and its events become Socket.IO packets and manager events.

use super::*;

impl Driver {
    pub(super) fn on_io(&mut self, io: Io) {
        let now = Instant::now();
        let (epoch, input): (u64, SessionInput) = match io {
            Io::Poll { epoch, result } => (
                epoch,
                Box::new(move |session| match result {
                    Ok(body) => session.handle_poll_response(body, now),
                    Err(err) => {
                        tracing::debug!(%err, "polling GET failed");
                        session.handle_poll_error(now);
                    }
                }),
            ),
            Io::Post { epoch, ok } => (
                epoch,
                Box::new(move |session| {
                    if ok {
                        session.handle_post_done(now);
                    } else {
                        session.handle_post_error(now);
                    }
                }),
            ),
            Io::Ws { epoch, id, event } => {
                let current = |engine: &Engine| engine.ws.as_ref().is_some_and(|(ws, _)| *ws == id);
                let live = self
                    .engine
                    .as_ref()
                    .filter(|engine| engine.epoch == epoch)
                    .is_some_and(current)
                    || self
                        .closing
                        .iter()
                        .any(|engine| engine.epoch == epoch && current(engine));
                if !live {
                    return;
                }
                let ended = matches!(event, WsReport::Error | WsReport::Closed);
                if ended {
                    for engine in self.engine.iter_mut().chain(self.closing.iter_mut()) {
                        if engine.epoch == epoch {
                            engine.ws = None;
                        }
                    }
                }
                (
                    epoch,
                    Box::new(move |session| match event {
                        WsReport::Opened => session.handle_ws_opened(now),
                        WsReport::Frame(frame) => session.handle_ws_frame(frame, now),
                        WsReport::Error => session.handle_ws_error(now),
                        WsReport::Closed => session.handle_ws_closed(now),
                    }),
                )
            }
            Io::Auth { key, epoch, auth } => {
                if epoch == self.epoch && self.ready == Ready::Open {
                    if let Some(core) = self.sockets.get(&key).cloned() {
                        self.send_connect_with(&core, auth);
                    }
                }
                return;
            }
        };
        if let Some(engine) = self.engine.as_mut().filter(|engine| engine.epoch == epoch) {
            input(&mut engine.session);
            engine.session.check_wall_clock(now, SystemTime::now());
        } else if let Some(engine) = self.closing.iter_mut().find(|engine| engine.epoch == epoch) {
            input(&mut engine.session);
        }
    }

    /// Drains the sessions after an input: their transmits, then their events.
    pub(super) fn pump(&mut self) {
        let mut closing = std::mem::take(&mut self.closing);
        for engine in &mut closing {
            self.drain_transmits(engine);
            while engine.session.poll_event().is_some() {}
        }
        closing.retain(|engine| !engine.session.is_closed());
        self.closing.append(&mut closing);
        loop {
            let Some(mut engine) = self.engine.take() else {
                return;
            };
            self.drain_transmits(&mut engine);
            let Some(event) = engine.session.poll_event() else {
                self.engine = Some(engine);
                return;
            };
            match event {
                ClientEvent::Closed(reason) => {
                    self.drain_transmits(&mut engine);
                    self.prior_websocket = engine.session.websocket_succeeded();
                    let transport = engine.session.transport();
                    drop(engine);
                    self.on_engine_closed(&reason, transport);
                }
                other => {
                    self.engine = Some(engine);
                    self.on_engine_event(other);
                }
            }
        }
    }

    pub(super) fn on_engine_event(&mut self, event: ClientEvent) {
        match event {
            ClientEvent::Open(_) => self.on_open(),
            ClientEvent::Message(message) => {
                let message = match message {
                    EngineMessage::Text(text) => Message::Text(text),
                    EngineMessage::Binary(data) => Message::Binary(data),
                };
                match self.decoder.decode(message) {
                    Ok(Some(packet)) => self.on_packet(packet),
                    Ok(None) => {}
                    Err(err) => {
                        tracing::warn!(%err, "a packet from the server does not decode");
                        if let Some(mut engine) = self.engine.take() {
                            engine.session.close(Instant::now());
                            self.drain_transmits(&mut engine);
                            if !engine.session.is_closed() {
                                self.closing.push(engine);
                            }
                        }
                        self.on_close(DisconnectReason::ParseError);
                    }
                }
            }
            ClientEvent::Ping => self.emit(ManagerEvent::Ping),
            ClientEvent::Upgraded => self.emit(ManagerEvent::Upgrade),
            ClientEvent::UpgradeFailed => tracing::debug!("the upgrade to WebSocket failed"),
            ClientEvent::Closed(_) | _ => {}
        }
    }

    pub(super) fn on_engine_closed(
        &mut self,
        reason: &ClientCloseReason,
        transport: TransportKind,
    ) {
        tracing::debug!(%reason, "the Engine.IO session closed");
        match self.ready {
            Ready::Opening
                if self.shared.config.try_all_transports
                    && self.shared.config.engine.transports == ClientTransports::Both
                    && self.fallback.is_none() =>
            {
                // `tryAllTransports`: the same attempt tries the other transport.
                self.fallback = Some(match transport {
                    TransportKind::Polling => TransportKind::WebSocket,
                    TransportKind::WebSocket => TransportKind::Polling,
                });
                self.start_session();
            }
            Ready::Opening => self.open_failed(&reason.to_string()),
            Ready::Open => self.on_close(DisconnectReason::from_engine(reason)),
            Ready::Closed => {}
        }
    }

    /// Carries out what the session asks.
    pub(super) fn drain_transmits(&mut self, engine: &mut Engine) {
        let config = &self.shared.config;
        while let Some(transmit) = engine.session.poll_transmit() {
            let epoch = engine.epoch;
            match transmit {
                ClientTransmit::Get { sid } => {
                    let url = config.url(false, sid.as_ref().map(|sid| sid.as_str()));
                    let (http, parts, io) =
                        (self.http.clone(), self.parts.clone(), self.io_tx.clone());
                    engine.get = Some(tokio::spawn(async move {
                        let result = transport::request(&http, &parts, &url, None).await;
                        let _ = io.send(Io::Poll { epoch, result }).await;
                    }));
                }
                ClientTransmit::Post { sid, body } => {
                    let url = config.url(false, Some(sid.as_str()));
                    let (http, parts, io) =
                        (self.http.clone(), self.parts.clone(), self.io_tx.clone());
                    tokio::spawn(async move {
                        let ok = transport::request(&http, &parts, &url, Some(body))
                            .await
                            .is_ok();
                        let _ = io.send(Io::Post { epoch, ok }).await;
                    });
                }
                ClientTransmit::OpenWebSocket { sid } => {
                    let url = config.url(true, sid.as_ref().map(|sid| sid.as_str()));
                    self.ws_ids = self.ws_ids.wrapping_add(1);
                    let id = self.ws_ids;
                    let (tx, rx) = mpsc::unbounded_channel();
                    if let Some((_, old)) = engine.ws.replace((id, tx)) {
                        let _ = old.send(WsOut::Close);
                    }
                    tokio::spawn(transport::websocket(
                        url,
                        self.parts.clone(),
                        rx,
                        self.io_tx.clone(),
                        epoch,
                        id,
                    ));
                }
                ClientTransmit::WebSocket(frame) => {
                    if let Some((_, ws)) = &engine.ws {
                        let _ = ws.send(WsOut::Frame(frame));
                    }
                }
                ClientTransmit::CloseWebSocket => {
                    if let Some((_, ws)) = engine.ws.take() {
                        let _ = ws.send(WsOut::Close);
                    }
                }
                _ => {}
            }
        }
    }
}
