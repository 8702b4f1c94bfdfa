//! A hand-written decoder for snapshot entries in the compact form that encoders write.
//!
//! Decoding a snapshot was mostly serde's generic machinery: every field went through rmp-serde's
//! `deserialize_any` dispatch and a visitor. This decoder reads the MessagePack markers of the compact form
//! directly (`[host, service]` keys; objects, configs, statuses and metrics as arrays of their fields in
//! declaration order) and builds the model in place.
//!
//! It only *accelerates*: whatever it does not recognise (the named map form, `bin` strings, an integer out
//! of range, an unknown state type, anything malformed) makes it return `None`, and the caller decodes the
//! same bytes with rmp-serde, which gives the value or the error. So both paths accept the same inputs and
//! give the same results; the forward-compatibility rule of `docs/format.md` (skip appended fields, default
//! missing trailing ones) is implemented here as in [`crate::compat`]. Rare parts (acknowledgements,
//! downtimes, comments) are handed to rmp-serde item by item.

use std::collections::BTreeMap;

use compact_str::CompactString;
use serde::de::DeserializeOwned;

use crate::model::{NotificationConfig, Object, ObjectConfig, ObjectKey, StateType, Status};
use crate::perfdata::{Metric, PerfData};
use crate::snapshot_decode::skip;

/// Up-front room for a list of groups or metrics: a declared length is the sender's claim, and a claim of
/// millions with the bytes to back it (one byte per item) would reserve 24 or 176 times those bytes at once.
/// Longer lists grow as their items actually decode.
const SMALL_LIST_RESERVE: usize = 16;

/// Up-front room for `declared` snapshot entries in `bytes`: real entries take about 200 bytes each, so
/// reserving one per 128 bytes holds every real snapshot in one allocation, while a hostile count with a
/// padded payload reserves at most 4 times the payload (464-byte entries), not 232 times (one per 2 bytes).
/// More entries than that grow the list as they actually decode.
pub(crate) fn reserve_entries(declared: u64, bytes: usize) -> usize {
    usize::try_from(declared).unwrap_or(usize::MAX).min(bytes / 128)
}

/// Decodes exactly `count` key/object pairs that fill `bytes`, or `None` to let rmp-serde decide.
pub(crate) fn entries(bytes: &[u8], count: u64) -> Option<Vec<(ObjectKey, Object)>> {
    let (out, used) = entries_prefix(bytes, count, count)?;
    (used == bytes.len()).then_some(out)
}

/// Decodes `count` key/object pairs from the start of `bytes`; returns them and the bytes they took.
/// The list has room for `capacity` entries, so that a caller can append more without moving it.
pub(crate) fn entries_prefix(bytes: &[u8], count: u64, capacity: u64) -> Option<(Vec<(ObjectKey, Object)>, usize)> {
    let mut out = Vec::with_capacity(reserve_entries(capacity.max(count), bytes.len()));
    let mut r = Reader { buf: bytes, pos: 0 };
    for _ in 0..count {
        let key = r.key()?;
        let object = r.object()?;
        out.push((key, object));
    }
    Some((out, r.pos))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(bytes)
    }

    fn be(&mut self, n: usize) -> Option<u64> {
        Some(self.take(n)?.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)))
    }

    fn array_len(&mut self) -> Option<usize> {
        let n = match self.byte()? {
            m @ 0x90..=0x9f => u64::from(m & 0x0f),
            0xdc => self.be(2)?,
            0xdd => self.be(4)?,
            _ => return None,
        };
        usize::try_from(n).ok()
    }

    fn map_len(&mut self) -> Option<usize> {
        let n = match self.byte()? {
            m @ 0x80..=0x8f => u64::from(m & 0x0f),
            0xde => self.be(2)?,
            0xdf => self.be(4)?,
            _ => return None,
        };
        usize::try_from(n).ok()
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = match self.byte()? {
            m @ 0xa0..=0xbf => u64::from(m & 0x1f),
            0xd9 => self.be(1)?,
            0xda => self.be(2)?,
            0xdb => self.be(4)?,
            _ => return None,
        };
        std::str::from_utf8(self.take(usize::try_from(n).ok()?)?).ok()
    }

    fn string(&mut self) -> Option<String> {
        self.str().map(str::to_owned)
    }

    fn compact(&mut self) -> Option<CompactString> {
        self.str().map(CompactString::from)
    }

    /// Any MessagePack integer, widened; the caller narrows it (out of range: `None`, and rmp-serde errs).
    fn int(&mut self) -> Option<i128> {
        let v = match self.byte()? {
            m @ 0x00..=0x7f => i128::from(m),
            m @ 0xe0..=0xff => i128::from(m as i8),
            0xcc => i128::from(self.be(1)?),
            0xcd => i128::from(self.be(2)?),
            0xce => i128::from(self.be(4)?),
            0xcf => i128::from(self.be(8)?),
            0xd0 => i128::from(self.be(1)? as u8 as i8),
            0xd1 => i128::from(self.be(2)? as u16 as i16),
            0xd2 => i128::from(self.be(4)? as u32 as i32),
            0xd3 => i128::from(self.be(8)? as i64),
            _ => return None,
        };
        Some(v)
    }

    fn num<T: TryFrom<i128>>(&mut self) -> Option<T> {
        T::try_from(self.int()?).ok()
    }

    fn bool(&mut self) -> Option<bool> {
        match self.byte()? {
            0xc2 => Some(false),
            0xc3 => Some(true),
            _ => None,
        }
    }

    /// One whole item handed to rmp-serde (for the rare parts): its value, or `None` if it does not decode.
    fn serde<T: DeserializeOwned>(&mut self) -> Option<T> {
        let end = skip(self.buf, self.pos, 1)?;
        let value = rmp_serde::from_slice(&self.buf[self.pos..end]).ok()?;
        self.pos = end;
        Some(value)
    }

    /// An array of `fields` fields read by `field(reader, value, index)`: appended fields are skipped,
    /// missing trailing fields keep their defaults (the forward-compatibility rule).
    fn fields<T: Default>(
        &mut self,
        fields: usize,
        field: impl Fn(&mut Self, &mut T, usize) -> Option<()>,
    ) -> Option<T> {
        let n = self.array_len()?;
        let mut value = T::default();
        for i in 0..n.min(fields) {
            field(self, &mut value, i)?;
        }
        if n > fields {
            self.pos = skip(self.buf, self.pos, (n - fields) as u64)?;
        }
        Some(value)
    }

    /// `[host, service or nil]`, exactly two elements (serde's derived decoder takes no more, no fewer).
    fn key(&mut self) -> Option<ObjectKey> {
        if self.array_len()? != 2 {
            return None;
        }
        let host = self.compact()?;
        let service = if self.peek()? == 0xc0 {
            self.pos += 1;
            None
        } else {
            Some(self.compact()?)
        };
        Some(ObjectKey { host, service })
    }

    fn object(&mut self) -> Option<Object> {
        self.fields(5, |r, o: &mut Object, i| {
            match i {
                0 => o.config = r.config()?,
                1 => o.status = r.status()?,
                2 if r.peek()? == 0xc0 => r.pos += 1,
                2 => o.acknowledgement = Some(r.serde()?),
                3 if r.peek()? == 0x90 => r.pos += 1,
                3 => o.downtimes = r.serde()?,
                4 if r.peek()? == 0x90 => r.pos += 1,
                _ => o.comments = r.serde()?,
            }
            Some(())
        })
    }

    fn config(&mut self) -> Option<ObjectConfig> {
        self.fields(9, |r, c: &mut ObjectConfig, i| {
            match i {
                0 => c.display_name = r.compact()?,
                1 => c.address = r.compact()?,
                2 => c.check_command = r.compact()?,
                3 => c.check_interval = r.num()?,
                4 => c.retry_interval = r.num()?,
                5 => c.max_attempts = r.num()?,
                6 => c.notifications = r.notifications()?,
                7 => {
                    let n = r.array_len()?;
                    c.groups = Vec::with_capacity(n.min(SMALL_LIST_RESERVE));
                    for _ in 0..n {
                        c.groups.push(r.compact()?);
                    }
                }
                _ => {
                    let n = r.map_len()?;
                    let mut vars = BTreeMap::new();
                    for _ in 0..n {
                        // Later duplicates replace earlier ones, as serde's map decoding does.
                        vars.insert(r.compact()?, r.compact()?);
                    }
                    c.custom_vars = vars;
                }
            }
            Some(())
        })
    }

    fn notifications(&mut self) -> Option<NotificationConfig> {
        self.fields(3, |r, n: &mut NotificationConfig, i| {
            match i {
                0 => n.enabled = r.bool()?,
                1 => n.interval = r.num()?,
                _ => n.options = r.compact()?,
            }
            Some(())
        })
    }

    fn status(&mut self) -> Option<Status> {
        self.fields(13, |r, s: &mut Status, i| {
            match i {
                0 => s.state = r.num()?,
                1 => s.state_type = StateType::try_from(r.num::<u8>()?).ok()?,
                2 => s.current_attempt = r.num()?,
                3 => s.output = r.compact()?,
                4 => s.long_output = r.compact()?,
                5 => s.perfdata = r.perfdata()?,
                6 => s.last_check = r.num()?,
                7 => s.last_state_change = r.num()?,
                8 => s.last_hard_state_change = r.num()?,
                9 => s.is_flapping = r.bool()?,
                10 => s.checks_enabled = r.bool()?,
                11 => s.problem_notified = r.bool()?,
                _ => s.notification_number = r.num()?,
            }
            Some(())
        })
    }

    /// `[metrics, unparsed]`; `unparsed` may be missing (it has a serde default), nothing may follow it.
    fn perfdata(&mut self) -> Option<PerfData> {
        let n = self.array_len()?;
        if !(1..=2).contains(&n) {
            return None;
        }
        let count = self.array_len()?;
        let mut metrics = Vec::with_capacity(count.min(SMALL_LIST_RESERVE));
        for _ in 0..count {
            metrics.push(self.metric()?);
        }
        let unparsed = if n == 2 { self.string()? } else { String::new() };
        Some(PerfData { metrics, unparsed })
    }

    /// `[label, value, uom, warn, crit, min, max, semicolons, quoted]`, any trailing part missing.
    fn metric(&mut self) -> Option<Metric> {
        self.fields(9, |r, m: &mut Metric, i| {
            match i {
                0 => m.label = r.compact()?,
                1 => m.value = r.compact()?,
                2 => m.uom = r.compact()?,
                3 => m.warn = r.compact()?,
                4 => m.crit = r.compact()?,
                5 => m.min = r.compact()?,
                6 => m.max = r.compact()?,
                7 => m.semicolons = r.num::<u8>().filter(|n| *n <= 4)?,
                _ => m.quoted = r.bool()?,
            }
            Some(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Acknowledgement, Comment, Downtime, Snapshot};
    use crate::snapshot_decode::check_decoders_agree;
    use crate::{perfdata, sitegen};

    /// A small site with every part of the model filled in somewhere.
    fn rich_site() -> Snapshot {
        let mut site = sitegen::site(20, 3);
        let mut objects = site.objects.values_mut();
        let o = objects.next().expect("objects");
        o.acknowledgement =
            Some(Acknowledgement { author: "ann".into(), comment: "on it".into(), sticky: true, time: 5 });
        o.downtimes.push(Downtime {
            id: 9,
            author: "bob".into(),
            comment: "patching".into(),
            start: 1,
            end: 2,
            fixed: false,
            duration_s: 60,
            started_at: Some(1),
        });
        o.comments.push(Comment { id: 3, author: "cy".into(), text: "ticket 42".into(), time: 7 });
        let o = objects.next().expect("objects");
        o.status.long_output = "line 2\nline 3".into();
        o.status.perfdata = perfdata::parse("'quoted label'=1;2;3;4;5 plain=7;;; x=-1.5e3 junk").0;
        o.status.state_type = StateType::Soft;
        o.status.last_check = -1;
        o.status.notification_number = u32::MAX;
        o.config.custom_vars.insert("Z".into(), "é ü".into());
        o.config.groups = vec!["a".into(), "b".repeat(300).into()];
        o.config.notifications.options = "d,u,r".into();
        drop(objects);
        site
    }

    /// The entries part of a compact snapshot encoding, and their count.
    fn entries_of(site: &Snapshot) -> (Vec<u8>, u64) {
        let mut raw = Vec::new();
        for (k, o) in &site.objects {
            raw.extend(rmp_serde::to_vec(k).expect("encode"));
            raw.extend(rmp_serde::to_vec(o).expect("encode"));
        }
        (raw, site.objects.len() as u64)
    }

    #[test]
    fn decodes_every_part_of_the_model_as_rmp_serde_does() {
        let site = rich_site();
        let (raw, count) = entries_of(&site);
        let fast = entries(&raw, count).expect("the canonical compact form is recognised");
        assert_eq!(fast, site.objects.clone().into_iter().collect::<Vec<_>>());
        check_decoders_agree(&raw, count);
        check_decoders_agree(&rmp_serde::to_vec(&site).expect("encode"), 0);
    }

    #[test]
    fn appended_and_missing_trailing_fields_follow_the_compat_rule() {
        let site = rich_site();
        let (key, object) = site.objects.iter().next().expect("objects");
        // A newer writer appended a field to the object and to its status; an older one wrote fewer.
        let s = &object.status;
        let newer_status = (
            (s.state, s.state_type, s.current_attempt, &s.output, &s.long_output, &s.perfdata, s.last_check),
            (s.last_state_change, s.last_hard_state_change, s.is_flapping, s.checks_enabled, s.problem_notified),
            (s.notification_number, "a status field from the future"),
        );
        // Flatten the three tuples into one 14-element array: header, then each tuple's elements.
        let mut status = vec![0x9e];
        for part in [
            rmp_serde::to_vec(&newer_status.0).expect("encode"),
            rmp_serde::to_vec(&newer_status.1).expect("encode"),
            rmp_serde::to_vec(&newer_status.2).expect("encode"),
        ] {
            status.extend_from_slice(&part[1..]);
        }
        let mut raw = rmp_serde::to_vec(key).expect("encode");
        raw.push(0x96);
        raw.extend(rmp_serde::to_vec(&object.config).expect("encode"));
        raw.extend(status);
        for part in [
            rmp_serde::to_vec(&object.acknowledgement).expect("encode"),
            rmp_serde::to_vec(&object.downtimes).expect("encode"),
            rmp_serde::to_vec(&object.comments).expect("encode"),
            rmp_serde::to_vec(&["an object field", "from the future"]).expect("encode"),
        ] {
            raw.extend(part);
        }
        raw.extend(rmp_serde::to_vec(key).expect("encode"));
        raw.extend(rmp_serde::to_vec(&(&object.config,)).expect("encode"));
        let fast = entries(&raw, 2).expect("recognised");
        assert_eq!(fast[0].1, *object);
        assert_eq!(fast[1].1, Object { config: object.config.clone(), ..Object::default() });
        check_decoders_agree(&raw, 2);
    }

    #[test]
    fn every_corrupted_byte_gives_what_rmp_serde_gives() {
        let mut site = rich_site();
        site.objects.retain(|k, _| k.host == "srv00000");
        let (raw, count) = entries_of(&site);
        for pos in 0..raw.len() {
            for value in [raw[pos] ^ 0x01, raw[pos].wrapping_add(0x10), 0xc0, 0xc1, 0xff, 0x00, 0xdd, 0xa5] {
                let mut bad = raw.clone();
                bad[pos] = value;
                check_decoders_agree(&bad, count);
            }
            check_decoders_agree(&raw[..pos], count);
        }
    }
}
