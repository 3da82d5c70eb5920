//! The original's CORS policy (any origin; GET, PUT, POST, DELETE;
//! `content-type` and `authorization`), as fixed headers.
//!
//! Same answers as tower-http's `CorsLayer` with that policy: every response
//! gets `access-control-allow-origin: *` and the `vary` list, and every
//! `OPTIONS` request is a preflight answered 200 with an empty body and the
//! allowed methods and headers. The policy never depends on the request, so
//! the headers are static: the layer built a header map per request and
//! merged it into the response, a few percent of a hop's CPU.

use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, VARY,
};
use axum::http::{HeaderValue, Method, Request};
use axum::response::Response;
use futures_util::future::{Either, MapOk, Ready, TryFutureExt};

const ANY: HeaderValue = HeaderValue::from_static("*");
const VARY_LIST: HeaderValue = HeaderValue::from_static(
    "origin, access-control-request-method, access-control-request-headers",
);
const METHODS: HeaderValue = HeaderValue::from_static("GET,PUT,POST,DELETE");
const HEADERS: HeaderValue = HeaderValue::from_static("content-type,authorization");

/// Wraps a service with the policy.
#[derive(Clone, Copy, Debug, Default)]
pub struct CorsLayer;

impl<S> tower::Layer<S> for CorsLayer {
    type Service = Cors<S>;
    fn layer(&self, inner: S) -> Cors<S> {
        Cors(inner)
    }
}

#[derive(Clone, Debug)]
pub struct Cors<S>(S);

impl<S, B> tower::Service<Request<B>> for Cors<S>
where
    S: tower::Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future =
        Either<Ready<Result<Response, S::Error>>, MapOk<S::Future, fn(Response) -> Response>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if req.method() == Method::OPTIONS {
            let mut response = Response::new(Body::empty());
            let headers = response.headers_mut();
            headers.insert(VARY, VARY_LIST);
            headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, ANY);
            headers.insert(ACCESS_CONTROL_ALLOW_METHODS, METHODS);
            headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, HEADERS);
            return Either::Left(futures_util::future::ready(Ok(response)));
        }
        Either::Right(
            self.0
                .call(req)
                .map_ok(add_headers as fn(Response) -> Response),
        )
    }
}

fn add_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.append(VARY, VARY_LIST);
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, ANY);
    response
}
