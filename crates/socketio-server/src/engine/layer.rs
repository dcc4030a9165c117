//! The tower layer and service.

use std::{
    any::Any,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::{EngineBody, EngineIo, request};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The layer that serves Engine.IO on its path and passes every other request to the
/// service it wraps. Made by [`EngineIoBuilder::build`](super::EngineIoBuilder::build).
#[derive(Debug, Clone)]
pub struct EngineIoLayer {
    engine: EngineIo,
    keep: KeepAlive,
}

/// What the layer and its services keep alive for as long as they exist: the server
/// above the engine, whose handle the application may drop.
#[derive(Clone, Default)]
struct KeepAlive {
    _value: Option<Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for KeepAlive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeepAlive")
    }
}

impl EngineIoLayer {
    pub(crate) fn new(engine: EngineIo) -> Self {
        Self {
            engine,
            keep: KeepAlive::default(),
        }
    }

    /// The layer, keeping `value` alive as long as it or one of its services exists.
    pub(crate) fn keeping(self, value: Arc<dyn Any + Send + Sync>) -> Self {
        Self {
            keep: KeepAlive {
                _value: Some(value),
            },
            ..self
        }
    }
}

impl<S> Layer<S> for EngineIoLayer {
    type Service = EngineIoService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EngineIoService {
            inner,
            engine: self.engine.clone(),
            _keep: self.keep.clone(),
        }
    }
}

/// The service of [`EngineIoLayer`].
#[derive(Debug, Clone)]
pub struct EngineIoService<S> {
    inner: S,
    engine: EngineIo,
    _keep: KeepAlive,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for EngineIoService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
    ResBody: Body<Data = Bytes>,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<EngineBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if self.engine.shared.matches(req.uri().path()) {
            let shared = std::sync::Arc::clone(&self.engine.shared);
            ResponseFuture {
                kind: Kind::Engine {
                    future: Box::pin(request::handle(shared, req)),
                },
            }
        } else {
            ResponseFuture {
                kind: Kind::Inner {
                    future: self.inner.call(req),
                },
            }
        }
    }
}

type EngineFuture = Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>;

pin_project! {
    /// The response future of [`EngineIoService`].
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Inner { #[pin] future: F },
        Engine { future: EngineFuture },
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<EngineBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future
                .poll(cx)
                .map(|result| result.map(|response| response.map(EngineBody::inner))),
            KindProj::Engine { future } => future
                .as_mut()
                .poll(cx)
                .map(|response| Ok(response.map(EngineBody::full))),
        }
    }
}
