//! Performance data per the Nagios plugin guidelines: `'label'=value[UOM];[warn];[crit];[min];[max]`.
//!
//! Owns parsing, byte-exact rendering and threshold ranges ([`Range`]).
//! Numbers are kept as the plugin wrote them (strings), so well-formed input renders back byte for byte:
//! items separated by single spaces, labels quoted when they were quoted, trailing empty `;` fields kept.
//! Malformed items never fail a check result: they land verbatim in [`PerfData::unparsed`] with a [`PerfWarning`].
//!
//! On the wire a [`Metric`] is a compact MessagePack array (see `docs/format.md`), because perfdata
//! dominates snapshot size; readers ignore extra trailing elements and default missing ones.

use std::fmt::{self, Write as _};

use compact_str::CompactString;

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Parsed performance data. `Display` renders it back (byte for byte for well-formed input).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PerfData {
    pub metrics: Vec<Metric>,
    /// Text that did not parse, kept verbatim (malformed perfdata never fails a check result).
    #[serde(default)]
    pub unparsed: String,
}

/// One `'label'=value[UOM];[warn];[crit];[min];[max]` item. Numbers are kept as written, so they render back exactly.
///
/// The fields are [`CompactString`]s: a string of up to 24 bytes lives inside the struct, so a typical metric
/// (`rta=0.123ms;100;500;0`) costs no heap allocation at all. Perfdata is most of a snapshot's strings, and
/// allocation was most of the time spent decoding one (see `docs/benchmarks.md`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metric {
    pub label: CompactString,
    pub value: CompactString,
    pub uom: CompactString,
    pub warn: CompactString,
    pub crit: CompactString,
    pub min: CompactString,
    pub max: CompactString,
    /// How many `;` separators the plugin wrote after the value (0..=4), so trailing empty fields render back.
    /// Rendering writes at least as many as the last non-empty field needs.
    pub semicolons: u8,
    /// The plugin quoted the label although it did not have to. Labels with spaces, `=` or `'` are always quoted.
    pub quoted: bool,
}

/// A problem found while parsing; the text it concerns is kept in `PerfData::unparsed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerfWarning(pub String);

impl fmt::Display for PerfWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Nagios threshold range: `[@][start:][end]`, where `~` as start means negative infinity.
///
/// `10` alerts outside 0..=10, `10:` below 10, `~:10` above 10, `10:20` outside 10..=20, `@10:20` inside 10..=20.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// Lower bound, inclusive; `None` is negative infinity.
    pub start: Option<f64>,
    /// Upper bound, inclusive; `None` is positive infinity.
    pub end: Option<f64>,
    /// `@` prefix: alert when the value is inside the range instead of outside.
    pub alert_inside: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid threshold range {text:?}: {why}")]
pub struct RangeError {
    pub text: String,
    pub why: &'static str,
}

impl Range {
    /// Parses a range as the plugin guidelines write it. An empty string is not a range (no threshold).
    pub fn parse(text: &str) -> Result<Range, RangeError> {
        let bad = |why| Err(RangeError { text: text.to_string(), why });
        let (alert_inside, body) = match text.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if body.is_empty() {
            return bad("empty range");
        }
        let (start, end) = match body.split_once(':') {
            None => (Some(0.0), body),
            Some(("~", end)) => (None, end),
            Some((start, end)) => match parse_number(start) {
                Some(v) => (Some(v), end),
                None => return bad("start is not a number or '~'"),
            },
        };
        let end = if end.is_empty() {
            None
        } else {
            match parse_number(end) {
                Some(v) => Some(v),
                None => return bad("end is not a number"),
            }
        };
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            return bad("start is greater than end");
        }
        Ok(Range { start, end, alert_inside })
    }

    /// True when `value` lies within start..=end (ignoring `@`).
    pub fn contains(&self, value: f64) -> bool {
        self.start.is_none_or(|s| value >= s) && self.end.is_none_or(|e| value <= e)
    }

    /// True when `value` breaches this threshold (outside the range, or inside for `@` ranges).
    pub fn alerts(&self, value: f64) -> bool {
        self.contains(value) == self.alert_inside
    }
}

impl Metric {
    pub fn value_f64(&self) -> Option<f64> {
        parse_number(&self.value)
    }

    /// The warning threshold, if one was given and it parses.
    pub fn warn_range(&self) -> Option<Range> {
        Range::parse(&self.warn).ok()
    }

    /// The critical threshold, if one was given and it parses.
    pub fn crit_range(&self) -> Option<Range> {
        Range::parse(&self.crit).ok()
    }

    /// True when the label must be quoted to parse back.
    fn needs_quotes(&self) -> bool {
        self.label.is_empty() || self.label.bytes().any(|b| b.is_ascii_whitespace() || b == b'=' || b == b'\'')
    }

    /// Semicolons to render: as written, but never fewer than the last non-empty field needs.
    fn semicolons_to_render(&self) -> u8 {
        let needed = [&self.warn, &self.crit, &self.min, &self.max]
            .iter()
            .rposition(|f| !f.is_empty())
            .map_or(0, |i| i as u8 + 1);
        self.semicolons.clamp(needed, 4)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.quoted || self.needs_quotes() {
            f.write_char('\'')?;
            for part in self.label.split('\'').enumerate() {
                if part.0 > 0 {
                    f.write_str("''")?;
                }
                f.write_str(part.1)?;
            }
            f.write_char('\'')?;
        } else {
            f.write_str(&self.label)?;
        }
        write!(f, "={}{}", self.value, self.uom)?;
        let fields = [&self.warn, &self.crit, &self.min, &self.max];
        for field in fields.iter().take(self.semicolons_to_render() as usize) {
            write!(f, ";{field}")?;
        }
        Ok(())
    }
}

impl fmt::Display for PerfData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for m in &self.metrics {
            if !first {
                f.write_char(' ')?;
            }
            first = false;
            write!(f, "{m}")?;
        }
        if !self.unparsed.is_empty() {
            if !first {
                f.write_char(' ')?;
            }
            f.write_str(&self.unparsed)?;
        }
        Ok(())
    }
}

impl PerfData {
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty() && self.unparsed.is_empty()
    }

    /// The metric with this label, if any.
    pub fn get(&self, label: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.label == label)
    }
}

/// Parses perfdata text. Never fails: what does not parse lands in `unparsed` with a warning.
pub fn parse(text: &str) -> (PerfData, Vec<PerfWarning>) {
    let mut data = PerfData::default();
    let mut warnings = Vec::new();
    let bytes = text.as_bytes();
    let mut pos = 0;
    loop {
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if pos >= bytes.len() {
            break;
        }
        let start = pos;
        match parse_item(text, pos) {
            Ok((metric, end)) => {
                data.metrics.push(metric);
                pos = end;
            }
            Err((why, end)) => {
                let raw = &text[start..end];
                warnings.push(PerfWarning(format!("perfdata item {raw:?} kept as text: {why}")));
                if !data.unparsed.is_empty() {
                    data.unparsed.push(' ');
                }
                data.unparsed.push_str(raw);
                pos = end;
            }
        }
    }
    (data, warnings)
}

/// End of the whitespace-free token that starts at `pos`.
fn token_end(text: &str, pos: usize) -> usize {
    text[pos..].find(|c: char| c.is_ascii_whitespace()).map_or(text.len(), |i| pos + i)
}

/// Parses one item starting at `pos` (not whitespace). On error, returns why and where the bad token ends.
fn parse_item(text: &str, pos: usize) -> Result<(Metric, usize), (&'static str, usize)> {
    let bytes = text.as_bytes();
    let mut metric = Metric::default();
    let mut i = pos;
    if bytes[i] == b'\'' {
        metric.quoted = true;
        i += 1;
        let mut label = CompactString::default();
        loop {
            let Some(off) = text[i..].find('\'') else {
                return Err(("quoted label has no closing quote", text.len()));
            };
            label.push_str(&text[i..i + off]);
            i += off + 1;
            if bytes.get(i) == Some(&b'\'') {
                label.push('\'');
                i += 1;
            } else {
                break;
            }
        }
        metric.label = label;
        if bytes.get(i) != Some(&b'=') {
            return Err(("quoted label is not followed by '='", token_end(text, i)));
        }
    } else {
        let end = token_end(text, i);
        let Some(eq) = text[i..end].find('=') else {
            return Err(("no '=' between label and value", end));
        };
        if eq == 0 {
            return Err(("empty label", end));
        }
        metric.label = text[i..i + eq].into();
        if metric.label.contains('\'') {
            return Err(("unquoted label contains a quote", end));
        }
        i += eq;
    }
    // `i` is at '='.
    i += 1;
    let end = token_end(text, i);
    let data = &text[i..end];
    let mut fields = data.split(';');
    let value_uom = fields.next().unwrap_or("");
    let rest: Vec<&str> = fields.collect();
    if rest.len() > 4 {
        return Err(("more than 5 ';'-separated fields", end));
    }
    let num_len = number_prefix_len(value_uom);
    let (value, uom) = if value_uom.starts_with('U') && value_uom.len() == 1 {
        ("U", "")
    } else if num_len == 0 {
        return Err(("value is not a number", end));
    } else {
        value_uom.split_at(num_len)
    };
    if parse_number(value).is_none() && value != "U" {
        return Err(("value is not a number", end));
    }
    if uom.bytes().any(|b| b.is_ascii_digit() || b == b'=' || b == b'\'') {
        return Err(("unit of measurement contains digits, '=' or quotes", end));
    }
    metric.value = value.into();
    metric.uom = uom.into();
    metric.semicolons = rest.len() as u8;
    for (idx, field) in rest.iter().enumerate() {
        match idx {
            0 | 1 => {
                if !field.is_empty() && Range::parse(field).is_err() {
                    return Err((
                        if idx == 0 { "warning threshold is not a range" } else { "critical threshold is not a range" },
                        end,
                    ));
                }
            }
            _ => {
                if !field.is_empty() && parse_number(field).is_none() {
                    return Err((if idx == 2 { "min is not a number" } else { "max is not a number" }, end));
                }
            }
        }
        let slot = match idx {
            0 => &mut metric.warn,
            1 => &mut metric.crit,
            2 => &mut metric.min,
            _ => &mut metric.max,
        };
        *slot = (*field).into();
    }
    Ok((metric, end))
}

/// Length of the longest prefix of `s` that is a decimal number: `-?digits[.digits][e[+-]digits]`.
fn number_prefix_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-') | Some(b'+')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        let frac_start = i + 1;
        let mut j = frac_start;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        digits += j - frac_start;
        if digits > 0 {
            i = j;
        }
    }
    if digits == 0 {
        return 0;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'-' || b[j] == b'+') {
            j += 1;
        }
        let exp_start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > exp_start {
            i = j;
        }
    }
    i
}

/// Parses a whole string as a finite decimal number (no `inf`/`nan`, which Rust's parser would accept).
fn parse_number(s: &str) -> Option<f64> {
    if s.is_empty() || number_prefix_len(s) != s.len() {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

// Wire form: [label, value, uom, warn, crit, min, max, semicolons, quoted], trailing defaults omitted.
impl Serialize for Metric {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let strings = [&self.label, &self.value, &self.uom, &self.warn, &self.crit, &self.min, &self.max];
        let len = if self.quoted {
            9
        } else if self.semicolons != 0 {
            8
        } else {
            strings.iter().rposition(|s| !s.is_empty()).map_or(0, |i| i + 1)
        };
        let mut seq = serializer.serialize_seq(Some(len))?;
        for s in strings.iter().take(len.min(7)) {
            seq.serialize_element(s.as_str())?;
        }
        if len >= 8 {
            seq.serialize_element(&self.semicolons)?;
        }
        if len >= 9 {
            seq.serialize_element(&self.quoted)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Metric {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MetricVisitor;
        impl<'de> Visitor<'de> for MetricVisitor {
            type Value = Metric;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a perfdata metric array [label, value, uom, warn, crit, min, max, semicolons, quoted]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Metric, A::Error> {
                let mut m = Metric::default();
                let mut complete = true;
                for slot in [&mut m.label, &mut m.value, &mut m.uom, &mut m.warn, &mut m.crit, &mut m.min, &mut m.max] {
                    match seq.next_element::<CompactString>()? {
                        Some(s) => *slot = s,
                        None => {
                            complete = false;
                            break;
                        }
                    }
                }
                if !complete {
                    return Ok(m);
                }
                match seq.next_element::<u8>()? {
                    Some(n) if n <= 4 => m.semicolons = n,
                    Some(n) => return Err(de::Error::custom(format!("metric semicolon count {n} is over 4"))),
                    None => return Ok(m),
                }
                if let Some(q) = seq.next_element::<bool>()? {
                    m.quoted = q;
                }
                // Forward compatibility: later versions may append elements; skip them.
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(m)
            }
        }
        deserializer.deserialize_seq(MetricVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `input`, expects the labels and values given and no unparsed text, and checks it renders back exactly.
    fn roundtrip(input: &str, expected: &[(&str, &str, &str)]) {
        let (data, warnings) = parse(input);
        assert!(warnings.is_empty(), "{input:?}: unexpected warnings {warnings:?}");
        assert_eq!(data.unparsed, "", "{input:?}");
        let got: Vec<(&str, &str, &str)> =
            data.metrics.iter().map(|m| (m.label.as_str(), m.value.as_str(), m.uom.as_str())).collect();
        assert_eq!(got, expected, "{input:?}");
        assert_eq!(data.to_string(), input, "render of {input:?}");
    }

    /// Parses `input` and expects `unparsed` text and one warning mentioning `why` per bad item.
    fn malformed(input: &str, unparsed: &str, why: &str) {
        let (data, warnings) = parse(input);
        assert_eq!(data.unparsed, unparsed, "{input:?}");
        assert!(warnings.iter().any(|w| w.0.contains(why)), "{input:?}: warnings {warnings:?} lack {why:?}");
    }

    #[test]
    fn well_formed_items_parse_and_render_back() {
        roundtrip("time=0.01s", &[("time", "0.01", "s")]);
        roundtrip("time=0.012s;;;0.000000", &[("time", "0.012", "s")]);
        roundtrip("size=1234B;;;0", &[("size", "1234", "B")]);
        roundtrip("rta=0.058ms;100.000;500.000;0; pl=0%;20;60;;", &[("rta", "0.058", "ms"), ("pl", "0", "%")]);
        roundtrip("'C:\\ Used Space'=12.5GB;40;45;0;50", &[("C:\\ Used Space", "12.5", "GB")]);
        roundtrip("'it''s'=1", &[("it's", "1", "")]);
        roundtrip("'quoted'=1c", &[("quoted", "1", "c")]);
        roundtrip("users=3;@10:20;~:5;0;", &[("users", "3", "")]);
        roundtrip("load1=0.5;10:;20;;", &[("load1", "0.5", "")]);
        roundtrip("x=-1.5e3;;", &[("x", "-1.5e3", "")]);
        roundtrip("x=U", &[("x", "U", "")]);
        roundtrip("x=.5KB", &[("x", ".5", "KB")]);
        roundtrip("a=1 b=2 c=3", &[("a", "1", ""), ("b", "2", ""), ("c", "3", "")]);
        roundtrip("", &[]);
    }

    #[test]
    fn whitespace_around_items_is_not_kept() {
        let (data, w) = parse("  a=1   b=2 \n");
        assert!(w.is_empty());
        assert_eq!(data.to_string(), "a=1 b=2");
    }

    #[test]
    fn malformed_items_are_kept_as_text_with_a_warning() {
        malformed("novalue", "novalue", "no '='");
        malformed("=1", "=1", "empty label");
        malformed("a=", "a=", "value is not a number");
        malformed("a=abc", "a=abc", "value is not a number");
        malformed("a=1,5", "a=1,5", "unit of measurement contains digits");
        malformed("a=1;x", "a=1;x", "warning threshold");
        malformed("a=1;;20:10", "a=1;;20:10", "critical threshold");
        malformed("a=1;;;z", "a=1;;;z", "min is not a number");
        malformed("a=1;;;;z", "a=1;;;;z", "max is not a number");
        malformed("a=1;;;;;", "a=1;;;;;", "more than 5");
        malformed("'open=1", "'open=1", "no closing quote");
        malformed("'x'y=1", "'x'y=1", "not followed by '='");
        malformed("a'b=1", "a'b=1", "contains a quote");
        malformed("a=inf", "a=inf", "value is not a number");
    }

    #[test]
    fn good_items_survive_beside_bad_ones() {
        let (data, w) = parse("a=1 junk b=2ms;3;4 more junk");
        assert_eq!(data.metrics.len(), 2);
        assert_eq!(data.unparsed, "junk more junk");
        assert_eq!(w.len(), 3);
        assert_eq!(data.to_string(), "a=1 b=2ms;3;4 junk more junk");
    }

    #[test]
    fn ranges_follow_the_plugin_guidelines() {
        // (range, value, alerts)
        let cases: &[(&str, f64, bool)] = &[
            ("10", -1.0, true),
            ("10", 0.0, false),
            ("10", 10.0, false),
            ("10", 10.1, true),
            ("10:", 9.9, true),
            ("10:", 1e9, false),
            ("~:10", -1e9, false),
            ("~:10", 11.0, true),
            ("10:20", 9.0, true),
            ("10:20", 15.0, false),
            ("10:20", 21.0, true),
            ("@10:20", 15.0, true),
            ("@10:20", 10.0, true),
            ("@10:20", 21.0, false),
            ("@~:5", -100.0, true),
            ("-5:-1", -3.0, false),
        ];
        for &(text, value, alerts) in cases {
            let r = Range::parse(text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(r.alerts(value), alerts, "{text} with {value}");
        }
        for bad in ["", "@", "a", "1:b", "20:10", "~", "1:2:3", "nan"] {
            assert!(Range::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn metric_wire_form_is_compact_and_round_trips() {
        let (data, _) = parse("'a b'=1ms;2;3;0;10 t=5 u=1;;");
        let bytes = rmp_serde::to_vec(&data).expect("encode");
        let back: PerfData = rmp_serde::from_slice(&bytes).expect("decode");
        assert_eq!(back, data);
        let named = rmp_serde::to_vec_named(&data).expect("encode");
        let back: PerfData = rmp_serde::from_slice(&named).expect("decode");
        assert_eq!(back, data);
        // `t=5` costs its array header plus two tiny strings.
        let t = rmp_serde::to_vec(&data.metrics[1]).expect("encode");
        assert_eq!(t.len(), 5);
    }

    #[test]
    fn metric_decoder_ignores_appended_elements() {
        let bytes = rmp_serde::to_vec(&("a", "1", "", "", "", "", "", 0u8, false, "future", 7u32)).expect("encode");
        let m: Metric = rmp_serde::from_slice(&bytes).expect("decode");
        assert_eq!(m.to_string(), "a=1");
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn metric() -> impl Strategy<Value = Metric> {
            (
                "[a-zA-Z0-9_ '=:\\\\/.-]{1,12}",
                "-?[0-9]{1,4}(\\.[0-9]{1,3})?",
                "(|s|ms|%|B|KB|c)",
                "(|[0-9]{1,2}|@[0-9]:[1-9][0-9]|~:[0-9]|[0-9]:)",
                "(|[0-9]{1,2}|@[0-9]:[1-9][0-9]|~:[0-9]|[0-9]:)",
                "(|0|-?[0-9]\\.[0-9])",
                "(|[0-9]{2,3})",
                0u8..=4,
                any::<bool>(),
            )
                .prop_map(|(label, value, uom, warn, crit, min, max, semicolons, quoted)| Metric {
                    label: label.into(),
                    value: value.into(),
                    uom: uom.into(),
                    warn: warn.into(),
                    crit: crit.into(),
                    min: min.into(),
                    max: max.into(),
                    semicolons,
                    quoted,
                })
        }

        proptest! {
            #[test]
            fn rendered_metrics_parse_back_to_the_same_text(ms in proptest::collection::vec(metric(), 0..6)) {
                let text = PerfData { metrics: ms, unparsed: String::new() }.to_string();
                let (parsed, warnings) = parse(&text);
                prop_assert!(warnings.is_empty(), "{:?}: {:?}", text, warnings);
                prop_assert_eq!(parsed.to_string(), text);
                let bytes = rmp_serde::to_vec(&parsed).expect("encode");
                let back: PerfData = rmp_serde::from_slice(&bytes).expect("decode");
                prop_assert_eq!(back, parsed);
            }

            #[test]
            fn parse_never_panics_and_keeps_every_item(text in "\\PC{0,60}") {
                let (data, _) = parse(&text);
                let rendered = data.to_string();
                let again = parse(&rendered).0;
                prop_assert_eq!(again.metrics.len(), data.metrics.len());
            }
        }
    }
}
