//! OID rules: a trap that matches a rule also becomes a passive check result for a service,
//! so e.g. a linkDown trap can turn `router1/link` CRITICAL.
//!
//! The result is a passive check result: [`super::passive`] applies it through the satellite's check engine
//! (SOFT/HARD state machine, alerts and notifications, as active results) and the events it raises are recorded
//! right after the trap event. Without an engine it is recorded as one `CheckResult` event.

use std::net::SocketAddr;

use outpost_format::ObjectKey;
use outpost_format::event::{StateChange, Trap};
use outpost_format::model::StateType;

use super::config::{TrapRule, parse_oid};
use super::convert::value_text;

/// Longest output a rule produces, in bytes; longer text is cut at a character boundary.
pub const MAX_OUTPUT: usize = 4096;

/// The passive result of the first rule that matches `trap`, if any.
pub fn apply(rules: &[TrapRule], trap: &Trap, source: SocketAddr) -> Option<StateChange> {
    let oid = parse_oid(&trap.trap_oid).ok()?;
    let rule =
        rules.iter().find(|r| r.trap_oid.matches(&oid) && r.source.is_none_or(|net| net.contains(source.ip())))?;
    let ip = source.ip().to_canonical().to_string();
    let host = rule.host.replace("{source}", &ip);
    let mut output = render(&rule.output, trap, &ip);
    truncate(&mut output, MAX_OUTPUT);
    Some(StateChange {
        key: ObjectKey::service(host, rule.service.clone()),
        state: rule.state,
        previous_state: rule.state,
        // A passive result from a trap is final: traps are not retried the way active checks are.
        state_type: StateType::Hard,
        attempt: 1,
        max_attempts: 1,
        output,
        long_output: String::new(),
        perfdata: String::new(),
    })
}

/// Replaces `{source}`, `{trap_oid}` and `{varbind:OID}` in a rule's output template.
fn render(template: &str, trap: &Trap, ip: &str) -> String {
    // One pass over the template: text that comes from the trap is never scanned again, so a varbind whose
    // value is itself `{varbind:…}` cannot make this loop (the sender controls varbind values).
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let Some(end) = tail.find('}') else {
            out.push_str(tail);
            rest = "";
            break;
        };
        let name = &tail[1..end];
        let value = match name {
            "source" => ip.to_string(),
            "trap_oid" => trap.trap_oid.clone(),
            _ => match name.strip_prefix("varbind:") {
                Some(oid) => {
                    let oid = oid.trim_start_matches('.');
                    trap.varbinds.iter().find(|vb| vb.oid == oid).map(|vb| value_text(&vb.value)).unwrap_or_default()
                }
                None => tail[..=end].to_string(),
            },
        };
        // Output is one line for Nagios; a newline or `|` in a varbind would start long output or perfdata.
        out.extend(value.chars().map(|c| if c.is_control() || c == '|' { ' ' } else { c }));
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    out
}

fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

#[cfg(test)]
mod tests {
    use outpost_format::event::{SnmpValue, SnmpVersion, VarBind};

    use super::*;
    use crate::traps::config::TrapConfig;

    fn rules(toml_text: &str) -> Vec<TrapRule> {
        let cfg: TrapConfig = toml::from_str(toml_text).expect("toml");
        cfg.validate().expect("valid").rules
    }

    fn trap(oid: &str, varbinds: Vec<VarBind>) -> Trap {
        Trap {
            source: "192.0.2.7:3000".into(),
            version: SnmpVersion::V2c,
            community_or_user: "public".into(),
            trap_oid: oid.into(),
            v1: None,
            uptime: 1,
            is_inform: false,
            varbinds,
        }
    }

    const SRC: &str = "192.0.2.7:3000";

    #[test]
    fn link_down_turns_service_critical() {
        let r = rules(
            r#"[[rules]]
            trap_oid = "1.3.6.1.6.3.1.1.5.3"
            service = "link"
            state = "CRITICAL"
            output = "CRITICAL - link {varbind:1.3.6.1.2.1.2.2.1.1.2} down on {source}""#,
        );
        let t = trap(
            "1.3.6.1.6.3.1.1.5.3",
            vec![VarBind { oid: "1.3.6.1.2.1.2.2.1.1.2".into(), value: SnmpValue::Integer(2) }],
        );
        let result = apply(&r, &t, SRC.parse().expect("addr")).expect("matches");
        assert_eq!(result.key, ObjectKey::service("192.0.2.7", "link"));
        assert_eq!(result.state, 2);
        assert_eq!(result.output, "CRITICAL - link 2 down on 192.0.2.7");
    }

    #[test]
    fn first_matching_rule_wins_and_source_filters() {
        let r = rules(
            r#"[[rules]]
            trap_oid = "1.3.6.1.4.1.9.*"
            source = "10.0.0.0/8"
            host = "core"
            service = "a"
            state = "WARNING"
            [[rules]]
            trap_oid = "1.3.6.1.4.1.9.*"
            host = "edge"
            service = "b"
            state = "OK""#,
        );
        let t = trap("1.3.6.1.4.1.9.0.1", vec![]);
        let result = apply(&r, &t, SRC.parse().expect("addr")).expect("second rule");
        assert_eq!(result.key, ObjectKey::service("edge", "b"));
        let from_core = apply(&r, &t, "10.1.1.1:9".parse().expect("addr")).expect("first rule");
        assert_eq!(from_core.key, ObjectKey::service("core", "a"));
        assert!(apply(&r, &trap("1.3.6.1.4.1.10.0.1", vec![]), SRC.parse().expect("addr")).is_none());
    }

    #[test]
    fn varbind_values_are_not_expanded_again() {
        let r = rules(
            r#"[[rules]]
            trap_oid = "1.2.3"
            service = "s"
            state = "OK"
            output = "{varbind:1.9} {unknown} {"
            "#,
        );
        let t = trap(
            "1.2.3",
            vec![VarBind { oid: "1.9".into(), value: SnmpValue::OctetString(b"{varbind:1.9}{source}".to_vec()) }],
        );
        let result = apply(&r, &t, SRC.parse().expect("addr")).expect("matches");
        assert_eq!(result.output, "{varbind:1.9}{source} {unknown} {");
    }

    #[test]
    fn varbind_text_is_one_line_and_missing_is_empty() {
        let r = rules(
            r#"[[rules]]
            trap_oid = "1.2.3"
            service = "s"
            state = "UNKNOWN"
            output = "[{varbind:1.9}] [{varbind:1.8}] {trap_oid}""#,
        );
        let t = trap("1.2.3", vec![VarBind { oid: "1.9".into(), value: SnmpValue::OctetString(b"a\nb|c".to_vec()) }]);
        let result = apply(&r, &t, SRC.parse().expect("addr")).expect("matches");
        assert_eq!(result.output, "[a b c] [] 1.2.3");
    }
}
