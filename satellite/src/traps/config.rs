//! Trap receiver configuration: the `[traps]` table of `satellite.toml`.
//!
//! [`TrapConfig`] is what users write (serde, unknown fields refused).
//! [`TrapConfig::validate`] turns it into [`ReceiverSettings`], so the receiver never sees a raw string:
//! addresses, CIDR filters, OIDs and USM protocols are parsed once, with errors naming the field.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, bail};
use async_snmp::{AuthProtocol, Oid, PrivProtocol};
use serde::Deserialize;

/// The standard SNMP trap port. Binding it needs root or `CAP_NET_BIND_SERVICE` (see docs/northbound.md).
pub const DEFAULT_LISTEN: &str = "0.0.0.0:162";
/// Traps per second admitted before drops are counted (a token bucket, across all sources).
pub const DEFAULT_RATE_LIMIT_PER_SEC: u32 = 5_000;
/// Traps admitted at once above the sustained rate.
pub const DEFAULT_BURST: u32 = 10_000;
/// Traps admitted but not yet handed to the spool; more are dropped and counted.
pub const DEFAULT_QUEUE: usize = 8_192;
/// Receive buffer asked of the kernel for the trap socket (capped by `net.core.rmem_max`).
pub const DEFAULT_RECEIVE_BUFFER: usize = 4 << 20;

/// `[traps]` in `satellite.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrapConfig {
    /// Receive traps at all. Off by default: the satellite opens no UDP port unless asked to.
    #[serde(default)]
    pub enabled: bool,
    /// UDP address to listen on, `0.0.0.0:162` by default.
    /// Port 162 needs root or `CAP_NET_BIND_SERVICE`; a port above 1023 needs neither.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// v1/v2c communities accepted. Empty accepts any community (not recommended: communities are the only
    /// thing that tells your devices' traps from anyone else's).
    #[serde(default)]
    pub communities: Vec<String>,
    /// Source networks accepted, as `192.0.2.0/24`, `2001:db8::/32` or a bare address. Empty accepts any source.
    #[serde(default)]
    pub allowed_sources: Vec<String>,
    /// Sustained traps per second admitted; above it traps are dropped and counted
    /// (`outpost_traps_dropped_total{reason="rate_limit"}`), and informs go unanswered so senders retry.
    #[serde(default = "default_rate")]
    pub rate_limit_per_sec: u32,
    /// Traps admitted in a burst above the sustained rate.
    #[serde(default = "default_burst")]
    pub burst: u32,
    /// SNMPv3 USM users (authNoPriv or authPriv). noAuthNoPriv v3 traps are always refused.
    #[serde(default)]
    pub users: Vec<UsmUserConfig>,
    /// Where the SNMPv3 engine ID and boots counter are kept. Required when `users` is not empty:
    /// RFC 3414 needs engineBoots to grow across restarts, or senders' informs are rejected as replays.
    #[serde(default)]
    pub engine_state_file: Option<PathBuf>,
    /// Rules that turn matching traps into passive results for a service, in order; the first match wins.
    #[serde(default)]
    pub rules: Vec<TrapRuleConfig>,
    /// Socket receive buffer to ask the kernel for, in bytes; absorbs bursts while the receiver is not
    /// scheduled. The kernel caps it at `net.core.rmem_max`.
    #[serde(default = "default_receive_buffer")]
    pub receive_buffer_bytes: usize,
}

/// One `[[traps.users]]` entry.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UsmUserConfig {
    pub name: String,
    /// `MD5`, `SHA` (SHA-1), `SHA-224`, `SHA-256`, `SHA-384` or `SHA-512`.
    pub auth_protocol: String,
    /// At least 8 characters.
    pub auth_password: String,
    /// `DES`, `AES` (AES-128), `AES-192` or `AES-256`; leave out for authNoPriv.
    #[serde(default)]
    pub priv_protocol: Option<String>,
    #[serde(default)]
    pub priv_password: Option<String>,
}

/// One `[[traps.rules]]` entry: trap OID (and optionally source) to a passive service result.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TrapRuleConfig {
    /// The trap OID to match (snmpTrapOID.0, or the RFC 3584 mapping of a v1 trap).
    /// A trailing `.*` matches the OID and everything below it.
    pub trap_oid: String,
    /// Only traps from this source network (same syntax as `allowed_sources`).
    #[serde(default)]
    pub source: Option<String>,
    /// Host the result is for. `{source}` is replaced by the sender's IP address.
    #[serde(default = "default_rule_host")]
    pub host: String,
    pub service: String,
    /// `OK`, `WARNING`, `CRITICAL` or `UNKNOWN`.
    pub state: String,
    /// Plugin-style output. `{source}`, `{trap_oid}` and `{varbind:OID}` (the value of that varbind) are replaced.
    #[serde(default = "default_rule_output")]
    pub output: String,
}

fn default_listen() -> String {
    DEFAULT_LISTEN.into()
}
fn default_rate() -> u32 {
    DEFAULT_RATE_LIMIT_PER_SEC
}
fn default_burst() -> u32 {
    DEFAULT_BURST
}
fn default_receive_buffer() -> usize {
    DEFAULT_RECEIVE_BUFFER
}
fn default_rule_host() -> String {
    "{source}".into()
}
fn default_rule_output() -> String {
    "SNMP trap {trap_oid} from {source}".into()
}

impl Default for TrapConfig {
    fn default() -> Self {
        TrapConfig {
            enabled: false,
            listen: default_listen(),
            communities: Vec::new(),
            allowed_sources: Vec::new(),
            rate_limit_per_sec: DEFAULT_RATE_LIMIT_PER_SEC,
            burst: DEFAULT_BURST,
            users: Vec::new(),
            engine_state_file: None,
            rules: Vec::new(),
            receive_buffer_bytes: DEFAULT_RECEIVE_BUFFER,
        }
    }
}

/// A network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix_len: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> anyhow::Result<Cidr> {
        let (addr_text, len_text) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let addr: IpAddr =
            addr_text.trim().parse().with_context(|| format!("{text:?} is not an IP address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix_len = match len_text {
            None => max,
            Some(l) => l
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .with_context(|| format!("{text:?}: the prefix length must be a number from 0 to {max}"))?,
        };
        Ok(Cidr { addr, prefix_len })
    }

    /// True when `ip` is inside this network. IPv4-mapped IPv6 sources match IPv4 networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix_len)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix_len)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// A USM user with parsed protocols.
#[derive(Debug, Clone)]
pub struct UsmUserSettings {
    pub name: String,
    pub auth: AuthProtocol,
    pub auth_password: String,
    pub privacy: Option<(PrivProtocol, String)>,
}

/// How a rule picks trap OIDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OidMatch {
    Exact(Oid),
    /// The OID itself or anything below it.
    Subtree(Oid),
}

impl OidMatch {
    pub fn matches(&self, oid: &Oid) -> bool {
        match self {
            OidMatch::Exact(o) => o == oid,
            OidMatch::Subtree(o) => oid.arcs().starts_with(o.arcs()),
        }
    }
}

/// A validated rule.
#[derive(Debug, Clone)]
pub struct TrapRule {
    pub trap_oid: OidMatch,
    pub source: Option<Cidr>,
    pub host: String,
    pub service: String,
    pub state: u8,
    pub output: String,
}

/// Everything the receiver needs, validated.
#[derive(Debug, Clone)]
pub struct ReceiverSettings {
    pub listen: SocketAddr,
    pub communities: Vec<String>,
    pub allowed_sources: Vec<Cidr>,
    pub rate_limit_per_sec: u32,
    pub burst: u32,
    pub users: Vec<UsmUserSettings>,
    pub engine_state_file: Option<PathBuf>,
    pub rules: Vec<TrapRule>,
    pub queue: usize,
    pub receive_buffer_bytes: usize,
}

impl TrapConfig {
    /// Checks every field and builds the receiver's settings. Errors name the field at fault.
    pub fn validate(&self) -> anyhow::Result<ReceiverSettings> {
        let listen: SocketAddr = self.listen.parse().with_context(|| {
            format!("traps.listen = {:?} is not an address:port such as \"0.0.0.0:162\"", self.listen)
        })?;
        let allowed_sources = self
            .allowed_sources
            .iter()
            .map(|s| Cidr::parse(s).context("traps.allowed_sources"))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if self.rate_limit_per_sec == 0 {
            bail!("traps.rate_limit_per_sec must be at least 1");
        }
        let mut users = Vec::with_capacity(self.users.len());
        for u in &self.users {
            users.push(validate_user(u).with_context(|| format!("traps.users: user {:?}", u.name))?);
        }
        if !users.is_empty() && self.engine_state_file.is_none() {
            bail!(
                "traps.engine_state_file must be set when traps.users is not empty (SNMPv3 engine boots persist there)"
            );
        }
        let rules = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| validate_rule(r).with_context(|| format!("traps.rules[{i}]")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(ReceiverSettings {
            listen,
            communities: self.communities.clone(),
            allowed_sources,
            rate_limit_per_sec: self.rate_limit_per_sec,
            burst: self.burst.max(1),
            users,
            engine_state_file: self.engine_state_file.clone(),
            rules,
            queue: DEFAULT_QUEUE,
            receive_buffer_bytes: self.receive_buffer_bytes,
        })
    }
}

fn validate_user(u: &UsmUserConfig) -> anyhow::Result<UsmUserSettings> {
    if u.name.is_empty() {
        bail!("the user name is empty");
    }
    let auth: AuthProtocol = u.auth_protocol.parse().map_err(|e| anyhow::anyhow!("auth_protocol: {e}"))?;
    if u.auth_password.len() < 8 {
        bail!("auth_password must be at least 8 characters (RFC 3414)");
    }
    let privacy = match (&u.priv_protocol, &u.priv_password) {
        (None, None) => None,
        (Some(p), Some(pw)) => {
            let proto: PrivProtocol = p.parse().map_err(|e| anyhow::anyhow!("priv_protocol: {e}"))?;
            if pw.len() < 8 {
                bail!("priv_password must be at least 8 characters (RFC 3414)");
            }
            Some((proto, pw.clone()))
        }
        _ => bail!("set both priv_protocol and priv_password for authPriv, or neither for authNoPriv"),
    };
    Ok(UsmUserSettings { name: u.name.clone(), auth, auth_password: u.auth_password.clone(), privacy })
}

fn validate_rule(r: &TrapRuleConfig) -> anyhow::Result<TrapRule> {
    let trap_oid = match r.trap_oid.strip_suffix(".*") {
        Some(base) => OidMatch::Subtree(parse_oid(base)?),
        None => OidMatch::Exact(parse_oid(&r.trap_oid)?),
    };
    let source = r.source.as_deref().map(Cidr::parse).transpose().context("source")?;
    let state = match r.state.to_ascii_uppercase().as_str() {
        "OK" => 0,
        "WARNING" => 1,
        "CRITICAL" => 2,
        "UNKNOWN" => 3,
        other => bail!("state {other:?} is not one of OK, WARNING, CRITICAL, UNKNOWN"),
    };
    if r.service.is_empty() || r.host.is_empty() {
        bail!("host and service must not be empty");
    }
    Ok(TrapRule { trap_oid, source, host: r.host.clone(), service: r.service.clone(), state, output: r.output.clone() })
}

/// Parses a dotted OID (`1.3.6.1.4.1.32473.1`, a leading dot allowed).
pub fn parse_oid(text: &str) -> anyhow::Result<Oid> {
    let trimmed = text.trim().trim_start_matches('.');
    Oid::parse(trimmed).map_err(|e| anyhow::anyhow!("{text:?} is not a numeric OID: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(text: &str, ip: &str) -> bool {
        Cidr::parse(text).expect("valid cidr").contains(ip.parse().expect("valid ip"))
    }

    #[test]
    fn cidr_matching() {
        assert!(cidr("127.0.0.0/8", "127.1.2.3"));
        assert!(!cidr("127.0.0.0/8", "128.0.0.1"));
        assert!(cidr("192.0.2.7", "192.0.2.7"));
        assert!(!cidr("192.0.2.7", "192.0.2.8"));
        assert!(cidr("0.0.0.0/0", "203.0.113.9"));
        assert!(cidr("2001:db8::/32", "2001:db8:1::1"));
        assert!(!cidr("2001:db8::/32", "2001:db9::1"));
        assert!(cidr("127.0.0.1", "::ffff:127.0.0.1"));
        assert!(!cidr("::1", "127.0.0.1"));
    }

    #[test]
    fn cidr_rejects_bad_input() {
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("not-an-ip").is_err());
        assert!(Cidr::parse("10.0.0.0/x").is_err());
    }

    #[test]
    fn defaults_validate() {
        let s = TrapConfig::default().validate().expect("defaults are valid");
        assert_eq!(s.listen.port(), 162);
        assert!(s.users.is_empty());
    }

    #[test]
    fn toml_with_users_and_rules() {
        let cfg: TrapConfig = toml::from_str(
            r#"
            enabled = true
            listen = "127.0.0.1:1162"
            communities = ["public"]
            allowed_sources = ["127.0.0.0/8"]
            engine_state_file = "/tmp/x"
            [[users]]
            name = "trapuser"
            auth_protocol = "SHA"
            auth_password = "authpass123"
            priv_protocol = "AES"
            priv_password = "privpass123"
            [[rules]]
            trap_oid = "1.3.6.1.6.3.1.1.5.3"
            service = "link"
            state = "critical"
            "#,
        )
        .expect("parses");
        let s = cfg.validate().expect("valid");
        assert_eq!(s.users.len(), 1);
        assert_eq!(s.rules[0].state, 2);
        assert_eq!(s.rules[0].host, "{source}");
    }

    #[test]
    fn users_need_engine_state_file() {
        let cfg = TrapConfig {
            users: vec![UsmUserConfig {
                name: "u".into(),
                auth_protocol: "SHA".into(),
                auth_password: "longenough".into(),
                priv_protocol: None,
                priv_password: None,
            }],
            ..TrapConfig::default()
        };
        let err = format!("{:#}", cfg.validate().expect_err("must fail"));
        assert!(err.contains("engine_state_file"), "{err}");
    }

    #[test]
    fn rule_subtree_match() {
        let m = OidMatch::Subtree(parse_oid("1.3.6.1.4.1.9").expect("oid"));
        assert!(m.matches(&parse_oid(".1.3.6.1.4.1.9.0.1").expect("oid")));
        assert!(!m.matches(&parse_oid("1.3.6.1.4.1.90").expect("oid")));
    }

    #[test]
    fn bad_fields_are_named() {
        let cfg = TrapConfig { listen: "nope".into(), ..TrapConfig::default() };
        assert!(format!("{:#}", cfg.validate().expect_err("bad")).contains("traps.listen"));
        let cfg = TrapConfig { allowed_sources: vec!["10.0.0.0/99".into()], ..TrapConfig::default() };
        assert!(format!("{:#}", cfg.validate().expect_err("bad")).contains("allowed_sources"));
    }
}
