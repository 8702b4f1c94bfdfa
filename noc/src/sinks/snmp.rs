//! Northbound SNMP: each matching event becomes one OUTPOST-MIB notification (`docs/OUTPOST-MIB.txt`) sent to
//! a configured destination as a v2c or v3 trap, or as an inform that is retried until acknowledged.
//!
//! [`notification_for`] is the pure part (event to trap OID and varbinds); [`SnmpSink`] sends.
//! Delivery is at least once: the cursor moves past an event only after its trap was sent or its inform
//! acknowledged; a destination that is down makes the sink retry from its durable cursor.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use async_snmp::{Auth, AuthProtocol, Client, Oid, PrivProtocol, Retry, UdpClient, Value, VarBind};
use outpost_format::EventKind;
use outpost_format::model::state_name;
use serde::Deserialize;

use super::filter::{Filter, FilterConfig};
use super::{DeliveryError, Sink};
use crate::store::StoredEvent;

/// The documentation enterprise number (RFC 5612), used until a deployment registers its own.
pub const DEFAULT_ENTERPRISE: &str = "1.3.6.1.4.1.32473";
/// Longest outpostOutput value (the MIB's SIZE).
pub const MAX_OUTPUT: usize = 1024;
/// Longest OutpostText value.
pub const MAX_TEXT: usize = 255;

/// `[[sinks.snmp]]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SnmpSinkConfig {
    /// Unique among sinks; names the durable cursor (`snmp:<name>`).
    pub name: String,
    /// `host:port` of the NMS, e.g. `nms.example.net:162`.
    pub destination: String,
    /// `2c` or `3`.
    #[serde(default = "default_version")]
    pub version: String,
    #[serde(default = "default_community")]
    pub community: String,
    /// Send informs (acknowledged, retried) instead of traps.
    #[serde(default)]
    pub inform: bool,
    /// Per-attempt timeout for informs.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Re-sends of an unacknowledged inform before the sink backs off and retries later from its cursor.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The OUTPOST-MIB root; change it together with the MIB's MODULE-IDENTITY.
    #[serde(default = "default_enterprise")]
    pub enterprise: String,
    /// SNMPv3 USM user (version 3). v3 informs only: for a v3 trap the NOC would be the authoritative engine, and
    /// every receiver would need its engine ID configured in advance; an inform discovers the receiver's.
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub auth_protocol: Option<String>,
    #[serde(default)]
    pub auth_password: Option<String>,
    #[serde(default)]
    pub priv_protocol: Option<String>,
    #[serde(default)]
    pub priv_password: Option<String>,
    /// Default: notifications only.
    #[serde(default)]
    pub filter: FilterConfig,
}

fn default_version() -> String {
    "2c".into()
}
fn default_community() -> String {
    "public".into()
}
fn default_timeout_ms() -> u64 {
    2000
}
fn default_retries() -> u32 {
    3
}
fn default_enterprise() -> String {
    DEFAULT_ENTERPRISE.into()
}

/// One notification ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingNotification {
    pub trap_oid: Oid,
    pub varbinds: Vec<VarBind>,
}

/// The OUTPOST-MIB OIDs under one enterprise root.
#[derive(Debug, Clone)]
pub struct MibOids {
    root: Vec<u32>,
}

impl MibOids {
    pub fn new(enterprise: &str) -> anyhow::Result<MibOids> {
        let oid = Oid::parse(enterprise.trim().trim_start_matches('.'))
            .map_err(|e| anyhow::anyhow!("enterprise {enterprise:?} is not a numeric OID: {e}"))?;
        if oid.arcs().len() < 2 {
            bail!("enterprise {enterprise:?} is too short to be an enterprise OID");
        }
        Ok(MibOids { root: oid.arcs().to_vec() })
    }
    /// `outpostNotifications.n`: 1 host, 2 service, 3 other.
    pub fn notification(&self, n: u32) -> Oid {
        let mut arcs = self.root.clone();
        arcs.extend([0, n]);
        Oid::new(arcs)
    }
    /// The instance `outpostObjects.n.0` of a scalar.
    pub fn object(&self, n: u32) -> Oid {
        let mut arcs = self.root.clone();
        arcs.extend([1, n, 0]);
        Oid::new(arcs)
    }
}

/// Object numbers in OUTPOST-MIB.
mod obj {
    pub const LOCATION: u32 = 1;
    pub const OBJECT_NAME: u32 = 2;
    pub const HOST_NAME: u32 = 3;
    pub const SERVICE_NAME: u32 = 4;
    pub const STATE_CODE: u32 = 5;
    pub const STATE_NAME: u32 = 6;
    pub const STATE_TYPE: u32 = 7;
    pub const OUTPUT: u32 = 8;
    pub const EVENT_TIME: u32 = 9;
    pub const EVENT_UNIX_TIME: u32 = 10;
    pub const EVENT_KIND: u32 = 11;
    pub const NOTIFICATION_TYPE: u32 = 12;
}

/// Builds the notification for one event (pure).
pub fn notification_for(oids: &MibOids, ev: &StoredEvent) -> OutgoingNotification {
    let text = |n: u32, s: &str, max: usize| VarBind::new(oids.object(n), Value::OctetString(clip(s, max).into()));
    let object_name = ev.object.clone().unwrap_or_default();
    let key = ev.event.kind.key();
    let with_state = match &ev.event.kind {
        EventKind::StateChange(s) | EventKind::CheckResult(s) => {
            Some((s.state, Some(s.state_type), s.output.as_str(), ""))
        }
        EventKind::Notification(n) => Some((n.state, None, n.output.as_str(), n.notification_type.nagios_name())),
        _ => None,
    };
    let time = [
        VarBind::new(oids.object(obj::EVENT_TIME), Value::OctetString(date_and_time(ev.time).to_vec().into())),
        VarBind::new(
            oids.object(obj::EVENT_UNIX_TIME),
            Value::Gauge32(u32::try_from(ev.time.max(0) / 1000).unwrap_or(u32::MAX)),
        ),
    ];
    match (with_state, key) {
        (Some((state, state_type, output, ntype)), Some(key)) => {
            let service = key.service.as_deref();
            let host = match service {
                Some(s) => object_name.strip_suffix(&format!("/{s}")).unwrap_or(&object_name).to_string(),
                None => object_name.clone(),
            };
            let mut varbinds = vec![
                text(obj::LOCATION, &ev.location, 32),
                text(obj::OBJECT_NAME, &object_name, MAX_TEXT),
                text(obj::HOST_NAME, &host, MAX_TEXT),
            ];
            if let Some(s) = service {
                varbinds.push(text(obj::SERVICE_NAME, s, MAX_TEXT));
            }
            varbinds.extend([
                VarBind::new(oids.object(obj::STATE_CODE), Value::Integer(i32::from(state.min(3)))),
                text(obj::STATE_NAME, state_name(key.is_host(), state), 16),
                // notifications are always about HARD states
                VarBind::new(oids.object(obj::STATE_TYPE), Value::Integer(state_type.map_or(1, |t| t as i32))),
                text(obj::OUTPUT, output, MAX_OUTPUT),
            ]);
            varbinds.extend(time);
            varbinds.push(text(obj::EVENT_KIND, ev.event.kind.name(), 32));
            varbinds.push(text(obj::NOTIFICATION_TYPE, ntype, 32));
            OutgoingNotification { trap_oid: oids.notification(if service.is_some() { 2 } else { 1 }), varbinds }
        }
        _ => {
            let mut varbinds = vec![
                text(obj::LOCATION, &ev.location, 32),
                text(obj::OBJECT_NAME, &object_name, MAX_TEXT),
                text(obj::EVENT_KIND, ev.event.kind.name(), 32),
                text(obj::OUTPUT, &ev.summary, MAX_OUTPUT),
            ];
            varbinds.extend(time);
            OutgoingNotification { trap_oid: oids.notification(3), varbinds }
        }
    }
}

/// Cuts at a character boundary so the value stays valid UTF-8.
fn clip(s: &str, max: usize) -> Vec<u8> {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.as_bytes()[..end].to_vec()
}

/// SNMPv2-TC DateAndTime, 11 octets, UTC.
pub fn date_and_time(unix_ms: i64) -> [u8; 11] {
    let secs = unix_ms.div_euclid(1000);
    let deci = (unix_ms.rem_euclid(1000) / 100) as u8;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let y = u16::try_from(y.clamp(0, 65_535)).unwrap_or(0);
    let [yh, yl] = y.to_be_bytes();
    [yh, yl, m, d, (sod / 3600) as u8, (sod % 3600 / 60) as u8, (sod % 60) as u8, deci, b'+', 0, 0]
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A running SNMP destination.
pub struct SnmpSink {
    name: String,
    config: SnmpSinkConfig,
    oids: MibOids,
    filter: Filter,
    client: Option<UdpClient>,
    started: Instant,
}

impl SnmpSink {
    pub fn new(config: SnmpSinkConfig) -> anyhow::Result<SnmpSink> {
        let oids = MibOids::new(&config.enterprise).context("sinks.snmp.enterprise")?;
        let filter = Filter::new(&config.filter, "notifications").context("sinks.snmp.filter")?;
        match config.version.as_str() {
            "2c" => {}
            "3" => {
                if !config.inform {
                    bail!(
                        "sinks.snmp {:?}: version = \"3\" needs inform = true. An SNMPv3 trap's sender is the \
                         authoritative engine, so every receiver would have to be configured with a persisted NOC \
                         engine ID; an inform discovers the receiver's engine ID instead (docs/northbound.md)",
                        config.name
                    );
                }
                auth(&config)?;
            }
            other => bail!("sinks.snmp {:?}: version {other:?} is not \"2c\" or \"3\"", config.name),
        }
        Ok(SnmpSink {
            name: format!("snmp:{}", config.name),
            config,
            oids,
            filter,
            client: None,
            started: Instant::now(),
        })
    }

    async fn client(&mut self) -> anyhow::Result<&UdpClient> {
        if self.client.is_none() {
            let retry =
                Retry::fixed(self.config.retries, Duration::ZERO).map_err(|e| anyhow::anyhow!("retries: {e}"))?;
            let client = Client::builder(self.config.destination.clone(), auth(&self.config)?)
                .request_timeout(Duration::from_millis(self.config.timeout_ms.max(1)))
                .retry(retry)
                .connect()
                .await
                .map_err(|e| anyhow::anyhow!("connect to SNMP destination {}: {e}", self.config.destination))?;
            self.client = Some(client);
        }
        self.client.as_ref().context("client was just created")
    }

    /// sysUpTime.0 of the sender: centiseconds since the sink started.
    fn uptime(&self) -> u32 {
        u32::try_from(self.started.elapsed().as_millis() / 10).unwrap_or(u32::MAX)
    }
}

fn auth(c: &SnmpSinkConfig) -> anyhow::Result<Auth> {
    if c.version == "2c" {
        return Ok(Auth::v2c(c.community.clone()));
    }
    let user = c.user.as_deref().context("SNMPv3 needs user")?;
    let auth_proto: AuthProtocol = c
        .auth_protocol
        .as_deref()
        .context("SNMPv3 needs auth_protocol")?
        .parse()
        .map_err(|e| anyhow::anyhow!("auth_protocol: {e}"))?;
    let auth_pw = c.auth_password.as_deref().context("SNMPv3 needs auth_password")?;
    let usm = async_snmp::UsmConfig::new(user.as_bytes().to_vec());
    let usm = match (&c.priv_protocol, &c.priv_password) {
        (Some(p), Some(pw)) => {
            let p: PrivProtocol = p.parse().map_err(|e| anyhow::anyhow!("priv_protocol: {e}"))?;
            usm.auth_priv(auth_proto, auth_pw, p, pw)
        }
        (None, None) => usm.auth(auth_proto, auth_pw),
        _ => bail!("set both priv_protocol and priv_password, or neither"),
    }
    .map_err(|e| anyhow::anyhow!("SNMPv3 user {user:?}: {e}"))?;
    Ok(Auth::from(usm))
}

impl Sink for SnmpSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn filter(&self) -> &Filter {
        &self.filter
    }

    async fn deliver(&mut self, events: &[StoredEvent]) -> Result<(), DeliveryError> {
        let uptime = self.uptime();
        let inform = self.config.inform;
        let oids = self.oids.clone();
        let name = self.name.clone();
        let destination = self.config.destination.clone();
        let client = self.client().await.map_err(|error| DeliveryError { delivered: 0, error })?;
        for (i, ev) in events.iter().enumerate() {
            let n = notification_for(&oids, ev);
            let sent = if inform {
                client.send_inform(&n.trap_oid, uptime, n.varbinds).await
            } else {
                client.send_trap(&n.trap_oid, uptime, n.varbinds).await
            };
            if let Err(e) = sent {
                return Err(DeliveryError {
                    delivered: i,
                    error: anyhow::anyhow!("send event {} to {destination}: {e}", ev.id),
                });
            }
            metrics::counter!("outpost_sink_sent_total", "sink" => name.clone()).increment(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use outpost_format::ObjectKey;
    use outpost_format::model::Acknowledgement;

    use super::*;
    use crate::sinks::filter::tests::{notification, state_change, stored};

    fn value_of<'a>(n: &'a OutgoingNotification, oid: &str) -> Option<&'a Value> {
        n.varbinds.iter().find(|vb| vb.oid.to_string().trim_start_matches('.') == oid).map(|vb| &vb.value)
    }

    fn text(v: Option<&Value>) -> String {
        match v {
            Some(Value::OctetString(b)) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("not a string: {other:?}"),
        }
    }

    #[test]
    fn service_state_change_varbinds() {
        let oids = MibOids::new(DEFAULT_ENTERPRISE).expect("oid");
        let ev = stored(7, "FRA1", state_change(ObjectKey::service("web01", "HTTP"), 2, "CRITICAL - 500"));
        let n = notification_for(&oids, &ev);
        assert_eq!(n.trap_oid.to_string().trim_start_matches('.'), "1.3.6.1.4.1.32473.0.2");
        let root = "1.3.6.1.4.1.32473.1";
        assert_eq!(text(value_of(&n, &format!("{root}.1.0"))), "FRA1");
        assert_eq!(text(value_of(&n, &format!("{root}.2.0"))), "FRA1_web01/HTTP");
        assert_eq!(text(value_of(&n, &format!("{root}.3.0"))), "FRA1_web01");
        assert_eq!(text(value_of(&n, &format!("{root}.4.0"))), "HTTP");
        assert_eq!(value_of(&n, &format!("{root}.5.0")), Some(&Value::Integer(2)));
        assert_eq!(text(value_of(&n, &format!("{root}.6.0"))), "CRITICAL");
        assert_eq!(value_of(&n, &format!("{root}.7.0")), Some(&Value::Integer(1)));
        assert_eq!(text(value_of(&n, &format!("{root}.8.0"))), "CRITICAL - 500");
        assert_eq!(value_of(&n, &format!("{root}.10.0")), Some(&Value::Gauge32(1_700_000_000)));
        assert_eq!(text(value_of(&n, &format!("{root}.11.0"))), "state_change");
    }

    #[test]
    fn host_notification_and_other_events() {
        let oids = MibOids::new("1.3.6.1.4.1.99999").expect("oid");
        let n = notification_for(&oids, &stored(1, "LON2", notification(ObjectKey::host("fw"), 1)));
        assert_eq!(n.trap_oid.to_string().trim_start_matches('.'), "1.3.6.1.4.1.99999.0.1");
        assert_eq!(text(value_of(&n, "1.3.6.1.4.1.99999.1.6.0")), "DOWN");
        assert_eq!(text(value_of(&n, "1.3.6.1.4.1.99999.1.12.0")), "PROBLEM");
        assert!(value_of(&n, "1.3.6.1.4.1.99999.1.4.0").is_none(), "no service name for a host");

        let ack = EventKind::AcknowledgementSet {
            key: ObjectKey::host("fw"),
            ack: Acknowledgement { author: "ann".into(), comment: "on it".into(), sticky: true, time: 0 },
        };
        let n = notification_for(&oids, &stored(2, "LON2", ack));
        assert_eq!(n.trap_oid.to_string().trim_start_matches('.'), "1.3.6.1.4.1.99999.0.3");
        assert_eq!(text(value_of(&n, "1.3.6.1.4.1.99999.1.11.0")), "acknowledgement_set");
        assert_eq!(text(value_of(&n, "1.3.6.1.4.1.99999.1.8.0")), "event 2");
    }

    #[test]
    fn date_and_time_is_utc() {
        // 2023-11-14T22:13:20.123Z
        assert_eq!(date_and_time(1_700_000_000_123), [0x07, 0xE7, 11, 14, 22, 13, 20, 1, b'+', 0, 0]);
        assert_eq!(date_and_time(0), [0x07, 0xB2, 1, 1, 0, 0, 0, 0, b'+', 0, 0]);
        // leap day
        assert_eq!(&date_and_time(951_782_400_000)[..4], &[0x07, 0xD0, 2, 29]);
    }

    #[test]
    fn long_output_is_cut_on_a_char_boundary() {
        let long = "é".repeat(600);
        let v = clip(&long, MAX_OUTPUT);
        assert_eq!(v.len(), 1024);
        assert!(String::from_utf8(v).is_ok());
        assert_eq!(clip("aé", 2), b"a");
    }

    #[test]
    fn config_validation() {
        let cfg: SnmpSinkConfig =
            toml::from_str("name = \"n\"\ndestination = \"127.0.0.1:162\"\nversion = \"3\"").expect("toml");
        assert!(SnmpSink::new(cfg).is_err(), "v3 without inform and user");
        // See: #6 — v3 destinations must use informs, even with a complete user.
        let cfg: SnmpSinkConfig = toml::from_str(
            "name = \"n\"\ndestination = \"127.0.0.1:162\"\nversion = \"3\"\ninform = false\nuser = \"u\"\n\
             auth_protocol = \"SHA\"\nauth_password = \"authpass123\"",
        )
        .expect("toml");
        let err = SnmpSink::new(cfg).err().expect("v3 traps are refused").to_string();
        assert!(err.contains("needs inform = true"), "{err}");
        let cfg: SnmpSinkConfig =
            toml::from_str("name = \"n\"\ndestination = \"127.0.0.1:162\"\nenterprise = \"x\"").expect("toml");
        assert!(SnmpSink::new(cfg).is_err());
    }
}
