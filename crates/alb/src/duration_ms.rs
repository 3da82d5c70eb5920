//! Serde for a [`Duration`] as a whole number of milliseconds, the unit
//! every duration of the JSON configuration uses (fields named `*_ms`):
//! sub-second health check intervals and drain delays are common in tests
//! and emulator speed-ups, which whole seconds could not express.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_millis)
}
