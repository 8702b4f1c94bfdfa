//! Turns a notification as async-snmp decoded it into Outpost's [`Trap`] event payload.
//!
//! v1 Trap-PDUs get their snmpTrapOID.0 per RFC 3584 section 3.1: generic traps 0..=5 map to
//! `snmpTraps.(generic+1)`, enterprise-specific ones to `enterprise.0.specific`.
//! Values keep their SMI type; nothing here fails: odd input becomes odd but faithful values.

use std::net::SocketAddr;

use async_snmp::notification::Notification;
use async_snmp::{Oid, Value};
use outpost_format::event::{SnmpValue, SnmpVersion, Trap, TrapV1Fields, VarBind};

/// Varbinds kept per trap; the rest are dropped (a trap with more is abuse, not monitoring data).
pub const MAX_VARBINDS: usize = 256;
/// Bytes kept of one octet-string value.
pub const MAX_VALUE_BYTES: usize = 4096;

/// Builds the event payload for one received notification.
pub fn to_trap(notification: &Notification, source: SocketAddr) -> Trap {
    let (version, who) = match notification {
        Notification::TrapV1 { community, .. } => (SnmpVersion::V1, lossy(community.as_bytes())),
        Notification::TrapV2c { community, .. } | Notification::InformV2c { community, .. } => {
            (SnmpVersion::V2c, lossy(community.as_bytes()))
        }
        Notification::TrapV3 { username, .. } | Notification::InformV3 { username, .. } => {
            (SnmpVersion::V3, lossy(username))
        }
    };
    let v1 = match notification {
        Notification::TrapV1 { trap, .. } => Some(TrapV1Fields {
            enterprise: oid_text(trap.enterprise()),
            agent_addr: std::net::Ipv4Addr::from(trap.agent_addr()).to_string(),
            generic_trap: trap.generic_trap().as_i32(),
            specific_trap: trap.specific_trap(),
        }),
        _ => None,
    };
    let trap_oid = match notification {
        Notification::TrapV1 { trap, .. } => {
            v1_trap_oid(trap.enterprise().arcs(), trap.generic_trap().as_i32(), trap.specific_trap())
        }
        other => other.trap_oid().map(|o| oid_text(&o)).unwrap_or_default(),
    };
    let varbinds = notification
        .varbinds()
        .iter()
        .take(MAX_VARBINDS)
        .map(|vb| VarBind { oid: oid_text(&vb.oid), value: to_value(&vb.value) })
        .collect();
    Trap {
        source: source.to_string(),
        version,
        community_or_user: who,
        trap_oid,
        v1,
        uptime: notification.uptime(),
        is_inform: notification.is_confirmed(),
        varbinds,
    }
}

/// RFC 3584 section 3.1 (1)-(2). Negative or out-of-range numbers (which a hostile or broken agent can send)
/// still map to something stable instead of being rejected, so the trap is not lost.
pub fn v1_trap_oid(enterprise: &[u32], generic: i32, specific: i32) -> String {
    if (0..=5).contains(&generic) {
        return format!("1.3.6.1.6.3.1.1.5.{}", generic + 1);
    }
    let mut arcs: Vec<String> = enterprise.iter().map(u32::to_string).collect();
    arcs.push("0".into());
    arcs.push((specific as u32).to_string());
    arcs.join(".")
}

/// Dotted numeric form without a leading dot.
pub fn oid_text(oid: &Oid) -> String {
    let arcs = oid.arcs();
    let mut out = String::with_capacity(arcs.len() * 4);
    for (i, a) in arcs.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(&a.to_string());
    }
    out
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_VALUE_BYTES)]).into_owned()
}

fn clip(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len().min(MAX_VALUE_BYTES)].to_vec()
}

/// Maps async-snmp values to the wire model. `UInteger32` is SMIv2's Gauge32; `Nsap` and unknown tags
/// (receive-only forward-compatibility values) keep their bytes as `Opaque`.
pub fn to_value(value: &Value) -> SnmpValue {
    match value {
        Value::Integer(i) => SnmpValue::Integer(i64::from(*i)),
        Value::OctetString(b) => SnmpValue::OctetString(clip(b)),
        Value::Null => SnmpValue::Null,
        Value::ObjectIdentifier(o) => SnmpValue::ObjectId(oid_text(o)),
        Value::IpAddress(a) => SnmpValue::IpAddress(std::net::Ipv4Addr::from(*a).to_string()),
        Value::Counter32(n) => SnmpValue::Counter32(*n),
        Value::Gauge32(n) | Value::UInteger32(n) => SnmpValue::Gauge32(*n),
        Value::TimeTicks(n) => SnmpValue::TimeTicks(*n),
        Value::Opaque(b) | Value::Nsap(b) => SnmpValue::Opaque(clip(b)),
        Value::Counter64(n) => SnmpValue::Counter64(*n),
        Value::NoSuchObject => SnmpValue::NoSuchObject,
        Value::NoSuchInstance => SnmpValue::NoSuchInstance,
        Value::EndOfMibView => SnmpValue::EndOfMibView,
        Value::Unknown { data, .. } => SnmpValue::Opaque(clip(data)),
        // async-snmp's Value is non-exhaustive; a type added later is kept as its debug text.
        other => SnmpValue::OctetString(format!("{other:?}").into_bytes()),
    }
}

/// A human-readable rendering of a value, for rule output templates.
pub fn value_text(value: &SnmpValue) -> String {
    match value {
        SnmpValue::Integer(i) => i.to_string(),
        SnmpValue::OctetString(b) | SnmpValue::Opaque(b) => String::from_utf8_lossy(b).into_owned(),
        SnmpValue::Null => String::new(),
        SnmpValue::ObjectId(s) | SnmpValue::IpAddress(s) => s.clone(),
        SnmpValue::Counter32(n) | SnmpValue::Gauge32(n) | SnmpValue::TimeTicks(n) => n.to_string(),
        SnmpValue::Counter64(n) => n.to_string(),
        SnmpValue::NoSuchObject => "noSuchObject".into(),
        SnmpValue::NoSuchInstance => "noSuchInstance".into(),
        SnmpValue::EndOfMibView => "endOfMibView".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3584_generic_traps() {
        // coldStart(0) .. egpNeighborLoss(5) map to snmpTraps.1 .. snmpTraps.6
        assert_eq!(v1_trap_oid(&[1, 3, 6, 1, 4, 1, 8072], 0, 0), "1.3.6.1.6.3.1.1.5.1");
        assert_eq!(v1_trap_oid(&[1, 3, 6, 1, 4, 1, 8072], 2, 0), "1.3.6.1.6.3.1.1.5.3");
        assert_eq!(v1_trap_oid(&[1, 3, 6, 1, 4, 1, 8072], 5, 99), "1.3.6.1.6.3.1.1.5.6");
    }

    #[test]
    fn rfc3584_enterprise_specific() {
        assert_eq!(v1_trap_oid(&[1, 3, 6, 1, 4, 1, 9999], 6, 42), "1.3.6.1.4.1.9999.0.42");
        // a generic number outside 0..=6 is treated as enterprise-specific rather than dropped
        assert_eq!(v1_trap_oid(&[1, 3, 6], 17, 1), "1.3.6.0.1");
        assert_eq!(v1_trap_oid(&[1, 3, 6], 6, -1), "1.3.6.0.4294967295");
    }

    #[test]
    fn values_keep_their_type() {
        assert_eq!(to_value(&Value::Integer(-5)), SnmpValue::Integer(-5));
        assert_eq!(to_value(&Value::IpAddress([192, 0, 2, 1])), SnmpValue::IpAddress("192.0.2.1".into()));
        assert_eq!(to_value(&Value::UInteger32(7)), SnmpValue::Gauge32(7));
        assert_eq!(to_value(&Value::Counter64(1 << 40)), SnmpValue::Counter64(1 << 40));
        let big = vec![b'x'; MAX_VALUE_BYTES + 10];
        assert_eq!(to_value(&Value::OctetString(big.into())), SnmpValue::OctetString(vec![b'x'; MAX_VALUE_BYTES]));
    }

    #[test]
    fn oid_text_has_no_leading_dot() {
        let oid = Oid::parse("1.3.6.1.2.1.1.3.0").expect("oid");
        assert_eq!(oid_text(&oid), "1.3.6.1.2.1.1.3.0");
    }
}
