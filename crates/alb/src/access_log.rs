//! Access logs, as an Application Load Balancer writes them to S3 (the
//! `access_logs.s3.*` attributes): one line per request in AWS's
//! space-separated format, in files rolled every few minutes (AWS: every
//! 5), written by the balancer itself.
//!
//! The request path only fills an [`Entry`] and hands it to a bounded
//! channel ([`Sink::log`], never blocking: a full channel drops the entry
//! and counts it); a writer thread per load balancer formats the entries
//! and writes what is queued in batches, then pauses 50 ms so the next
//! entries gather without waking it: a line is in its file within about
//! 50 ms of the response. When a load balancer writes no
//! access log, the request path pays one relaxed atomic load
//! ([`AccessLog::sink`]).
//!
//! Files are plain text (AWS gzips them), named like AWS's S3 objects
//! below [`AccessLogConfig::dir`]: `YYYY/MM/DD/<file_prefix>_<end
//! time YYYYMMDDTHHMMZ>_<node ip>_<random>.log`, the end time being the
//! end of the interval the file holds. The writer thread ends when its
//! sink is replaced or its load balancer is dropped (the channel closes),
//! after writing what was queued.
//!
//! This module depends on nothing else of the crate: the listener fills
//! the entries (`listener::access_log`).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::duration_ms;

/// Entries queued for the writer at most; more are dropped (counted).
const QUEUE: usize = 16 * 1024;
/// Entries written per `write` at most.
const BATCH: usize = 1024;
/// The writer's pause after writing what was queued: the longest a line
/// waits to be written beyond the writing itself.
const PAUSE: Duration = Duration::from_millis(50);

/// Where and under which names a load balancer writes its access log. In
/// JSON: `{"dir": "/data/access-logs/b/p/AWSLogs/0000/elasticloadbalancing/eu-west-1",
/// "elb": "app/web/50dc6c495c0c9188", "file_prefix": "0000_elasticloadbalancing_eu-west-1_app.web.50dc6c495c0c9188"}`
/// (`node_ip` and `interval_ms` optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessLogConfig {
    /// Files go in dated folders (`YYYY/MM/DD`) below this directory.
    pub dir: PathBuf,
    /// The `elb` field: the load balancer's resource id, `app/<name>/<id>`.
    pub elb: String,
    /// Every file name starts with this, then `_<end time>_<ip>_<random>.log`.
    pub file_prefix: String,
    /// The load balancer node address in file names (default 127.0.0.1).
    #[serde(default = "default_node_ip")]
    pub node_ip: String,
    /// How long one file collects entries (default 5 minutes, as AWS).
    #[serde(
        rename = "interval_ms",
        with = "duration_ms",
        default = "default_interval"
    )]
    pub interval: Duration,
}

fn default_node_ip() -> String {
    "127.0.0.1".into()
}

fn default_interval() -> Duration {
    Duration::from_secs(300)
}

impl AccessLogConfig {
    /// A configuration with the default node address and interval.
    pub fn new(
        dir: impl Into<PathBuf>,
        elb: impl Into<String>,
        file_prefix: impl Into<String>,
    ) -> Self {
        AccessLogConfig {
            dir: dir.into(),
            elb: elb.into(),
            file_prefix: file_prefix.into(),
            node_ip: default_node_ip(),
            interval: default_interval(),
        }
    }
}

/// What the load balancer did with a request, as `actions_executed` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Executed {
    Forward,
    FixedResponse,
    Redirect,
    /// Refused before routing (400, 405).
    None,
}

/// One request, as the request path hands it over. Strings are already
/// taken from the request; everything else is formatted by the writer.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// When the request head was read (`request_creation_time`).
    pub received: SystemTime,
    /// When the response head was ready (`time`).
    pub responded: SystemTime,
    pub client: std::net::SocketAddr,
    /// `host:port` of the target that answered.
    pub target: Option<String>,
    /// Seconds: to dispatch, the target's answer, the response; `None`
    /// is `-1`.
    pub request_processing: Option<Duration>,
    pub target_processing: Option<Duration>,
    pub response_processing: Option<Duration>,
    pub elb_status: u16,
    pub target_status: Option<u16>,
    pub received_bytes: u64,
    pub sent_bytes: u64,
    /// `METHOD scheme://host:port/path?query VERSION`.
    pub request: String,
    pub user_agent: Option<String>,
    pub target_group_arn: Option<String>,
    pub trace_id: Option<String>,
    /// `None`: no rule evaluated (`-`); 0: the default action.
    pub matched_rule_priority: Option<u32>,
    pub executed: Executed,
    pub redirect_url: Option<String>,
    /// The connection's id (`conn_trace_id`, `TID_<hex>`).
    pub conn_id: u64,
}

/// `s` between double quotes, with `"` and `\` escaped and control or
/// non-ASCII bytes as `\xHH`, so a field never breaks the line apart.
fn quoted(out: &mut String, s: Option<&str>) {
    out.push('"');
    match s {
        None => out.push('-'),
        Some(s) => {
            for b in s.bytes() {
                match b {
                    b'"' => out.push_str("\\\""),
                    b'\\' => out.push_str("\\\\"),
                    0x20..=0x7e => out.push(char::from(b)),
                    _ => {
                        let _ = write!(out, "\\x{b:02x}");
                    }
                }
            }
        }
    }
    out.push('"');
}

/// `s`, or `-`, unquoted (values without spaces).
fn bare(out: &mut String, s: Option<&str>) {
    out.push_str(s.unwrap_or("-"));
}

fn seconds(out: &mut String, d: Option<Duration>) {
    match d {
        Some(d) => {
            let _ = write!(out, "{:.3}", d.as_secs_f64());
        }
        None => out.push_str("-1"),
    }
}

/// Civil date and time (UTC) of a Unix time: (year, month, day, hour,
/// minute, second). Howard Hinnant's `civil_from_days`.
fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

fn unix(t: SystemTime) -> Duration {
    t.duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// ISO 8601 with microseconds, as AWS writes `time`:
/// `2018-07-02T22:23:00.186641Z`.
fn timestamp(out: &mut String, t: SystemTime) {
    let u = unix(t);
    let (y, mo, d, h, mi, s) = civil(u.as_secs() as i64);
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}Z",
        u.subsec_micros()
    );
}

/// One access log line (without the newline), AWS's fields in AWS's order.
pub(crate) fn format_line(out: &mut String, elb: &str, e: &Entry) {
    let target = e.target.as_deref();
    let target_status = e.target_status.map(|s| s.to_string());
    out.push_str("http ");
    timestamp(out, e.responded);
    let _ = write!(out, " {elb} {} ", e.client);
    bare(out, target);
    out.push(' ');
    seconds(out, e.request_processing);
    out.push(' ');
    seconds(out, e.target_processing);
    out.push(' ');
    seconds(out, e.response_processing);
    let _ = write!(out, " {} ", e.elb_status);
    bare(out, target_status.as_deref());
    let _ = write!(out, " {} {} ", e.received_bytes, e.sent_bytes);
    quoted(out, Some(&e.request));
    out.push(' ');
    quoted(out, e.user_agent.as_deref());
    // ssl_cipher, ssl_protocol: plain HTTP listeners.
    out.push_str(" - - ");
    bare(out, e.target_group_arn.as_deref());
    out.push(' ');
    quoted(out, e.trace_id.as_deref());
    // domain_name, chosen_cert_arn: no TLS.
    out.push_str(" \"-\" \"-\" ");
    match e.matched_rule_priority {
        Some(p) => {
            let _ = write!(out, "{p}");
        }
        None => out.push('-'),
    }
    out.push(' ');
    timestamp(out, e.received);
    out.push(' ');
    let executed = match e.executed {
        Executed::Forward => Some("forward"),
        Executed::FixedResponse => Some("fixed-response"),
        Executed::Redirect => Some("redirect"),
        Executed::None => None,
    };
    quoted(out, executed);
    out.push(' ');
    quoted(out, e.redirect_url.as_deref());
    // error_reason: none of AWS's reasons (Lambda, authentication, WAF)
    // applies here.
    out.push_str(" \"-\" ");
    quoted(out, target);
    out.push(' ');
    quoted(out, target_status.as_deref());
    // classification, classification_reason: only for requests desync
    // mitigation flags, which this balancer does not classify.
    let _ = write!(out, " \"-\" \"-\" TID_{:016x}", e.conn_id);
}

/// The channel to one load balancer's writer thread.
pub(crate) struct Sink {
    tx: SyncSender<Entry>,
    config: AccessLogConfig,
    dropped: AtomicU64,
}

impl Sink {
    /// Queue `entry`; dropped (and counted) if the writer is that far
    /// behind.
    pub(crate) fn log(&self, entry: Entry) {
        match self.tx.try_send(entry) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                if self
                    .dropped
                    .fetch_add(1, Ordering::Relaxed)
                    .is_multiple_of(10_000)
                {
                    warn!(elb = %self.config.elb, "access log entries dropped: the writer is behind");
                }
            }
        }
    }
}

/// A load balancer's access log: off, or a sink with its writer.
#[derive(Default)]
pub(crate) struct AccessLog {
    on: AtomicBool,
    sink: ArcSwapOption<Sink>,
}

impl AccessLog {
    /// The sink, if the load balancer writes an access log (one relaxed
    /// load when it does not).
    #[inline]
    pub(crate) fn sink(&self) -> Option<Arc<Sink>> {
        if !self.on.load(Ordering::Relaxed) {
            return None;
        }
        self.sink.load_full()
    }

    /// Write to `config` from now on (`None`: stop). With `live` false
    /// (a shadow balancer) nothing is ever written. A configuration equal
    /// to the current one changes nothing.
    pub(crate) fn configure(&self, config: Option<&AccessLogConfig>, live: bool) {
        let current = self.sink.load();
        if current.as_ref().map(|s| &s.config) == config {
            return;
        }
        let next = match config {
            Some(c) if live => match spawn_writer(c.clone()) {
                Ok(s) => Some(s),
                Err(e) => {
                    warn!(elb = %c.elb, error = %e, "cannot start the access log writer");
                    None
                }
            },
            _ => None,
        };
        self.on.store(next.is_some(), Ordering::Relaxed);
        // The old sink's writer ends once the requests holding it are done.
        self.sink.store(next);
    }
}

fn spawn_writer(config: AccessLogConfig) -> std::io::Result<Arc<Sink>> {
    let (tx, rx) = mpsc::sync_channel(QUEUE);
    let writer = Writer::new(config.clone());
    std::thread::Builder::new()
        .name("alb-access-log".into())
        .spawn(move || writer.run(rx))?;
    Ok(Arc::new(Sink {
        tx,
        config,
        dropped: AtomicU64::new(0),
    }))
}

/// Formats entries and writes them to the file of their interval.
struct Writer {
    config: AccessLogConfig,
    /// The interval (its end, Unix seconds) the open file holds.
    file: Option<(u64, std::fs::File)>,
    buf: String,
}

impl Writer {
    fn new(config: AccessLogConfig) -> Self {
        Writer {
            config,
            file: None,
            buf: String::with_capacity(64 * 1024),
        }
    }

    /// Until every sender is gone: take what is queued, write it, then
    /// pause so entries gather (a sender wakes the writer only when it
    /// waits in `recv`, so under load requests never pay for a wake-up).
    fn run(mut self, rx: Receiver<Entry>) {
        while let Ok(first) = rx.recv() {
            let mut end = self.interval_end(first.responded);
            self.push(&first);
            let mut n = 1usize;
            for e in rx.try_iter() {
                let e_end = self.interval_end(e.responded);
                if e_end != end {
                    self.flush(end);
                    end = e_end;
                }
                self.push(&e);
                n += 1;
                if n.is_multiple_of(BATCH) {
                    self.flush(end);
                }
            }
            self.flush(end);
            std::thread::sleep(PAUSE);
        }
    }

    fn interval_end(&self, t: SystemTime) -> u64 {
        let step = self.config.interval.as_secs().max(1);
        (unix(t).as_secs() / step + 1) * step
    }

    fn push(&mut self, e: &Entry) {
        format_line(&mut self.buf, &self.config.elb, e);
        self.buf.push('\n');
    }

    /// Write the buffered lines to the file of the interval ending at `end`.
    fn flush(&mut self, end: u64) {
        if self.buf.is_empty() {
            return;
        }
        let buf = std::mem::take(&mut self.buf);
        let written = self.file_for(end).and_then(|f| f.write_all(buf.as_bytes()));
        self.buf = buf;
        if let Err(e) = written {
            warn!(dir = %self.config.dir.display(), error = %e, "cannot write the access log");
            self.file = None;
        }
        self.buf.clear();
    }

    fn file_for(&mut self, end: u64) -> std::io::Result<&mut std::fs::File> {
        if self.file.as_ref().is_none_or(|(e, _)| *e != end) {
            let path = file_path(&self.config, end, &random_suffix());
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?;
            self.file = Some((end, f));
        }
        match &mut self.file {
            Some((_, f)) => Ok(f),
            None => Err(std::io::Error::other("no file")),
        }
    }
}

/// Eight random lowercase letters and digits, as in AWS's file names.
fn random_suffix() -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..8)
        .map(|_| char::from(CHARS[rand::random_range(0..CHARS.len())]))
        .collect()
}

/// `<dir>/YYYY/MM/DD/<prefix>_<YYYYMMDDTHHMMZ>_<ip>_<random>.log` for the
/// interval ending at `end` (Unix seconds; the folders are its start's
/// date).
pub(crate) fn file_path(config: &AccessLogConfig, end: u64, random: &str) -> PathBuf {
    let start = end.saturating_sub(config.interval.as_secs().max(1));
    let (y, mo, d, ..) = civil(start as i64);
    let (ey, emo, ed, eh, emi, _) = civil(end as i64);
    config
        .dir
        .join(format!("{y:04}"))
        .join(format!("{mo:02}"))
        .join(format!("{d:02}"))
        .join(format!(
            "{}_{ey:04}{emo:02}{ed:02}T{eh:02}{emi:02}Z_{}_{random}.log",
            config.file_prefix, config.node_ip
        ))
}

/// Every access log file below `dir`, oldest interval first (readers:
/// the emulator's CloudWatch Logs view).
pub fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(d: &Path, depth: usize, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(d) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if depth < 3 && p.is_dir() {
                walk(&p, depth + 1, out);
            } else if depth == 3 && p.extension().is_some_and(|x| x == "log") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, 0, &mut out);
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, micros: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros)
    }

    fn entry() -> Entry {
        Entry {
            received: at(1_530_570_168, 364_000),
            responded: at(1_530_570_180, 186_641),
            client: "192.168.131.39:2817".parse().expect("addr"),
            target: Some("10.0.0.1:80".into()),
            request_processing: Some(Duration::ZERO),
            target_processing: Some(Duration::from_millis(1)),
            response_processing: Some(Duration::ZERO),
            elb_status: 200,
            target_status: Some(200),
            received_bytes: 34,
            sent_bytes: 366,
            request: "GET http://www.example.com:80/ HTTP/1.1".into(),
            user_agent: Some("curl/7.46.0".into()),
            target_group_arn: Some(
                "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067"
                    .into(),
            ),
            trace_id: Some("Root=1-58337262-36d228ad5d99923122bbe354".into()),
            matched_rule_priority: Some(0),
            executed: Executed::Forward,
            redirect_url: None,
            conn_id: 0x1234abcd5678ef90,
        }
    }

    #[test]
    fn a_forwarded_request_reads_like_aws_example() {
        let mut line = String::new();
        format_line(&mut line, "app/my-loadbalancer/50dc6c495c0c9188", &entry());
        assert_eq!(
            line,
            "http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 \
             192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 \
             \"GET http://www.example.com:80/ HTTP/1.1\" \"curl/7.46.0\" - - \
             arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 \
             \"Root=1-58337262-36d228ad5d99923122bbe354\" \"-\" \"-\" 0 2018-07-02T22:22:48.364000Z \
             \"forward\" \"-\" \"-\" \"10.0.0.1:80\" \"200\" \"-\" \"-\" TID_1234abcd5678ef90"
        );
    }

    #[test]
    fn quotes_and_odd_bytes_cannot_split_a_field() {
        let mut e = entry();
        e.user_agent = Some("evil\" \"agent\\\n\u{e9}".into());
        e.target = None;
        e.target_status = None;
        e.target_processing = None;
        e.response_processing = None;
        e.request_processing = None;
        e.elb_status = 503;
        let mut line = String::new();
        format_line(&mut line, "app/x/1", &e);
        assert!(
            line.contains(r#" "evil\" \"agent\\\x0a\xc3\xa9" "#),
            "{line}"
        );
        assert!(line.contains(" - -1 -1 -1 503 - 34 366 "), "{line}");
        assert!(line.contains(r#" "-" "-" "-" TID_"#), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn files_are_named_like_aws_s3_keys() {
        let c = AccessLogConfig::new(
            "/d/AWSLogs/123456789012/elasticloadbalancing/us-east-2",
            "app/my-loadbalancer/1234567890abcdef",
            "123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.1234567890abcdef",
        );
        // 2014-02-15 23:40:00 UTC: the interval 23:35-23:40.
        let p = file_path(&c, 1_392_507_600, "2ogrn1uz");
        assert_eq!(
            p,
            Path::new(
                "/d/AWSLogs/123456789012/elasticloadbalancing/us-east-2/2014/02/15/\
                 123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.1234567890abcdef_20140215T2340Z_127.0.0.1_2ogrn1uz.log"
            )
        );
        // The interval ending at midnight is in the previous day's folder.
        let midnight = file_path(&c, 1_392_508_800, "x");
        assert!(
            midnight.to_string_lossy().contains("/2014/02/15/"),
            "{midnight:?}"
        );
        assert!(
            midnight.to_string_lossy().contains("_20140216T0000Z_"),
            "{midnight:?}"
        );
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil(1_798_761_599), (2026, 12, 31, 23, 59, 59));
    }

    #[test]
    fn the_writer_writes_batches_and_stops_with_its_sink() {
        let dir = std::env::temp_dir().join(format!("alb-access-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let log = AccessLog::default();
        assert!(log.sink().is_none());
        let config = AccessLogConfig::new(&dir, "app/t/1", "acct_elasticloadbalancing_r_app.t.1");
        // A shadow writes nothing.
        log.configure(Some(&config), false);
        assert!(log.sink().is_none());
        log.configure(Some(&config), true);
        let sink = log.sink().expect("on");
        for _ in 0..3 {
            sink.log(entry());
        }
        drop(sink);
        log.configure(None, true);
        assert!(log.sink().is_none());
        // The writer ends after writing what was queued.
        let mut lines = 0;
        for _ in 0..200 {
            lines = files(&dir)
                .iter()
                .map(|f| {
                    std::fs::read_to_string(f)
                        .unwrap_or_default()
                        .lines()
                        .count()
                })
                .sum();
            if lines == 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(lines, 3);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
