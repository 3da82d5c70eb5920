//! The ELBv2 API: AWS Query protocol on the same `POST /` as the JSON APIs.
//! A form-encoded body (`Action=...&Version=2015-12-01`, `Member.N` lists)
//! becomes an `ElbCommand`; its `ElbReply` becomes the XML response in
//! the `2015-12-01` namespace; every failure is the AWS XML error shape
//! (HTTP 400 `Sender`, or 500 `Receiver`). Every value written into XML is
//! escaped by [`Xml`].
//!
//! [`entry`] routes `POST /`: form-encoded requests (or an `Action=` body
//! without `X-Amz-Target`) come here, everything else goes to the JSON
//! dispatch in [`super`].
//!
//! Every answer, success or error, carries its request id twice, as AWS's:
//! in the XML (`ResponseMetadata/RequestId`, `ErrorResponse/RequestId`)
//! and in the `x-amzn-RequestId` header.
//!
//! Layout: this file routes and holds the protocol's pieces ([`Query`],
//! [`QueryError`]); `parse` turns parameters into commands, `render`
//! replies into XML.

mod parse;
mod render;

use std::collections::BTreeMap;

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::api::{ApiState, AwsRequest};
use crate::elbv2::{Elb, ElbError};

pub use parse::command;
pub use render::Xml;

/// The XML namespace of ELBv2 responses.
pub const NAMESPACE: &str = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/";
/// The API version the emulator speaks.
pub const VERSION: &str = "2015-12-01";

/// `POST /`: ELBv2 Query requests here, JSON 1.1 to `crate::api::dispatch`.
pub async fn entry(State(state): State<ApiState>, req: Request) -> Response {
    if is_query(req.headers()) {
        let body = match Bytes::from_request(req, &state).await {
            Ok(b) => b,
            Err(e) => {
                return QueryError::new(
                    StatusCode::BAD_REQUEST,
                    "Sender",
                    "ValidationError",
                    format!("Cannot read the request body: {e}"),
                )
                .into_response()
            }
        };
        return handle(&state.elb, &body).await;
    }
    match AwsRequest::from_request(req, &state).await {
        Ok(r) => match crate::api::dispatch(State(state), r).await {
            Ok(resp) => resp,
            Err(e) => e.into_response(),
        },
        Err(e) => e.into_response(),
    }
}

/// Query protocol: a form-encoded body, or no `X-Amz-Target` and no JSON
/// content type. A JSON body without a target belongs to the JSON 1.1
/// side, whose answer names the missing header.
fn is_query(headers: &HeaderMap) -> bool {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        return true;
    }
    !headers.contains_key("x-amz-target") && !content_type.contains("json")
}

/// Handles one Query request body.
pub async fn handle(elb: &Elb, body: &[u8]) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = async {
        let q = Query::parse(body)?;
        let action = q.req("Action")?;
        if let Some(v) = q.get("Version") {
            if v != VERSION {
                return Err(QueryError::validation(format!(
                    "Version '{v}' is not supported; use {VERSION}"
                )));
            }
        }
        let cmd = command(&action, &q)?;
        let reply = elb.handle(cmd).await.map_err(QueryError::from)?;
        Ok((action, reply))
    }
    .await;
    match result {
        Ok((action, reply)) => {
            let mut x = Xml::default();
            x.raw(&format!("<{action}Response xmlns=\"{NAMESPACE}\">"));
            x.open(&format!("{action}Result"));
            render::render(&mut x, &reply);
            x.close(&format!("{action}Result"));
            x.open("ResponseMetadata");
            x.leaf("RequestId", &request_id);
            x.close("ResponseMetadata");
            x.raw(&format!("</{action}Response>"));
            xml_response(StatusCode::OK, x.0, &request_id)
        }
        Err(e) => e.render(&request_id),
    }
}

fn xml_response(status: StatusCode, body: String, request_id: &str) -> Response {
    let mut resp = (status, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    resp
}

/// An AWS Query error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub status: StatusCode,
    /// `Sender` or `Receiver`.
    pub kind: &'static str,
    pub code: String,
    pub message: String,
}

impl QueryError {
    pub fn new(status: StatusCode, kind: &'static str, code: &str, message: String) -> QueryError {
        QueryError {
            status,
            kind,
            code: code.into(),
            message,
        }
    }

    pub fn validation(message: impl Into<String>) -> QueryError {
        QueryError::new(
            StatusCode::BAD_REQUEST,
            "Sender",
            "ValidationError",
            message.into(),
        )
    }

    fn render(&self, request_id: &str) -> Response {
        let mut x = Xml::default();
        x.raw(&format!("<ErrorResponse xmlns=\"{NAMESPACE}\">"));
        x.open("Error");
        x.leaf("Type", self.kind);
        x.leaf("Code", &self.code);
        x.leaf("Message", &self.message);
        x.close("Error");
        x.leaf("RequestId", request_id);
        x.raw("</ErrorResponse>");
        if self.status.is_server_error() {
            tracing::error!(code = %self.code, message = %self.message, "ELBv2 request failed");
        }
        xml_response(self.status, x.0, request_id)
    }
}

impl From<ElbError> for QueryError {
    fn from(e: ElbError) -> QueryError {
        let (status, kind) = if e.is_client() {
            (StatusCode::BAD_REQUEST, "Sender")
        } else {
            (StatusCode::INTERNAL_SERVER_ERROR, "Receiver")
        };
        QueryError::new(status, kind, e.code(), e.to_string())
    }
}

impl IntoResponse for QueryError {
    fn into_response(self) -> Response {
        self.render(&uuid::Uuid::new_v4().to_string())
    }
}

/// A parsed Query request: flat `Key.member.N.Sub` parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query(BTreeMap<String, String>);

impl Query {
    pub fn parse(body: &[u8]) -> Result<Query, QueryError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| QueryError::validation(format!("Malformed form-encoded body: {e}")))?;
        Ok(Query(pairs.into_iter().collect()))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    fn req(&self, key: &str) -> Result<String, QueryError> {
        self.get(key)
            .map(str::to_string)
            .ok_or_else(|| QueryError::validation(format!("'{key}' must be specified")))
    }

    fn num<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, QueryError> {
        self.get(key)
            .map(|v| {
                v.parse().map_err(|_| {
                    QueryError::validation(format!("'{key}' value '{v}' is not a valid number"))
                })
            })
            .transpose()
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, QueryError> {
        self.get(key)
            .map(|v| match v {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(QueryError::validation(format!(
                    "'{key}' value '{v}' must be true or false"
                ))),
            })
            .transpose()
    }

    /// The `prefix.member.N` sub-parameters, ordered by N.
    pub fn members(&self, prefix: &str) -> Vec<Query> {
        let head = format!("{prefix}.member.");
        let mut by_n: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(&head) else {
                continue;
            };
            let (n, sub) = rest.split_once('.').unwrap_or((rest, ""));
            if let Ok(n) = n.parse::<u32>() {
                by_n.entry(n)
                    .or_default()
                    .insert(sub.to_string(), v.clone());
            }
        }
        by_n.into_values().map(Query).collect()
    }

    /// The `prefix.member.N` scalar values, ordered by N.
    pub fn list(&self, prefix: &str) -> Vec<String> {
        self.members(prefix)
            .into_iter()
            .filter_map(|m| m.get("").map(str::to_string))
            .collect()
    }

    fn has_prefix(&self, prefix: &str) -> bool {
        self.0.keys().any(|k| k.starts_with(prefix))
    }
}
