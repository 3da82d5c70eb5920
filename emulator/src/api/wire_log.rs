//! The wire log: with `EMULATOR_WIRE_LOG=<dir>` set, every AWS API
//! exchange on `POST /` is appended to `<dir>/wire-<pid>.jsonl` as one JSON
//! line (`target` or `action`/`version`, `status`, response `body`), for
//! `.ci/check-wire` to check each answer against botocore's service models.
//! Off (and free) when the variable is unset. Request bodies are not
//! written, and secret values in answers (`SecretString`, `SecretBinary`,
//! a parameter's `Value`) are written as `"<redacted>"`: same type, no
//! secret.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// Bodies larger than this are passed through unrecorded.
const MAX_BODY: usize = 16 << 20;

fn sink() -> Option<&'static Mutex<std::fs::File>> {
    static SINK: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    SINK.get_or_init(|| {
        let dir = std::env::var_os("EMULATOR_WIRE_LOG")?;
        let dir = std::path::PathBuf::from(dir);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), "wire log disabled: {e}");
            return None;
        }
        let path = dir.join(format!("wire-{}.jsonl", std::process::id()));
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
        {
            Ok(f) => Some(Mutex::new(f)),
            Err(e) => {
                tracing::warn!(path = %path.display(), "wire log disabled: {e}");
                None
            }
        }
    })
    .as_ref()
}

/// Records the exchange when the wire log is on; otherwise only passes it on.
pub async fn record(req: Request, next: Next) -> Response {
    let Some(sink) = sink() else {
        return next.run(req).await;
    };
    if req.uri().path() != "/" || req.method() != http::Method::POST {
        return next.run(req).await;
    }
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let form = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Response::builder()
            .status(http::StatusCode::PAYLOAD_TOO_LARGE)
            .body(Body::empty())
            .unwrap_or_default();
    };
    let (mut action, mut version) = (None, None);
    if form {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        for (k, v) in pairs {
            match k.as_str() {
                "Action" => action = Some(v),
                "Version" => version = Some(v),
                _ => {}
            }
        }
    }
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (parts, body) = resp.into_parts();
    let Ok(out) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let line = serde_json::json!({
        "target": target,
        "action": action,
        "version": version,
        "status": parts.status.as_u16(),
        "body": redacted(&out),
    });
    if let Ok(mut f) = sink.lock() {
        // One write per line: concurrent processes append whole lines.
        let _ = f.write_all(format!("{line}\n").as_bytes());
    }
    Response::from_parts(parts, Body::from(out))
}

/// Members whose string values are secrets.
const SECRET_MEMBERS: &[&str] = &["SecretString", "SecretBinary", "Value"];

/// The body as text, with secret members' values replaced.
fn redacted(body: &[u8]) -> String {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m.iter_mut() {
                    if v.is_string() && SECRET_MEMBERS.contains(&k.as_str()) {
                        *v = "<redacted>".into();
                    } else {
                        walk(v);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) => {
            walk(&mut v);
            v.to_string()
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secret_values_are_not_written() {
        let body = br#"{"Name":"n","SecretString":"hunter2","Parameter":{"Value":"pw","Type":"SecureString"},"List":[{"SecretBinary":"aGk="}]}"#;
        let out = super::redacted(body);
        for secret in ["hunter2", "\"pw\"", "aGk="] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(out.contains("\"Name\":\"n\""), "{out}");
        assert!(out.contains("SecureString"), "{out}");
    }
}
