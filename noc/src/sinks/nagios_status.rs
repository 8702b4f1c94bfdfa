//! A reader for Nagios' `status.dat`: blocks like `servicestatus { key=value ... }`.
//!
//! The sink needs it to find the IDs Nagios gave our comments and downtimes (to delete them), and the tests use
//! it to check Nagios' view. No Rust crate parses this format; it is simple enough to do here.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

/// Largest status file read (a Nagios with 100k services writes some tens of MB).
pub const MAX_STATUS_BYTES: u64 = 512 * 1024 * 1024;

/// One block: its type (`hoststatus`, `servicestatus`, `hostcomment`, …) and fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: String,
    pub fields: BTreeMap<String, String>,
}

impl Block {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }
}

/// Parses the text of a status file. Malformed lines are skipped; this never fails.
pub fn parse(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(kind) = line.strip_suffix('{') {
            current = Some(Block { kind: kind.trim().to_string(), fields: BTreeMap::new() });
        } else if line == "}" {
            if let Some(b) = current.take() {
                blocks.push(b);
            }
        } else if let (Some(b), Some((k, v))) = (current.as_mut(), line.split_once('=')) {
            b.fields.insert(k.to_string(), v.to_string());
        }
    }
    blocks
}

/// Reads and parses a status file.
pub fn read(path: &Path) -> anyhow::Result<Vec<Block>> {
    use std::io::Read;
    let file = std::fs::File::open(path).with_context(|| format!("open Nagios status file {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_STATUS_BYTES).read_to_string(&mut text).with_context(|| format!("read {}", path.display()))?;
    Ok(parse(&text))
}

/// The Nagios ID of the comment (`hostcomment`/`servicecomment`) or downtime (`hostdowntime`/`servicedowntime`)
/// whose text contains `marker`.
pub fn find_id(blocks: &[Block], kinds: &[&str], text_field: &str, id_field: &str, marker: &str) -> Option<u64> {
    blocks
        .iter()
        .filter(|b| kinds.contains(&b.kind.as_str()))
        .find(|b| b.get(text_field).is_some_and(|t| t.contains(marker)))
        .and_then(|b| b.get(id_field)?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "info {\n\tcreated=1700000000\n\tversion=4.4.6\n\t}\n\n\
servicestatus {\n\thost_name=FRA1_web01\n\tservice_description=HTTP\n\tcurrent_state=2\n\tplugin_output=CRITICAL - a=b\n\tproblem_has_been_acknowledged=1\n\t}\n\n\
servicecomment {\n\thost_name=FRA1_web01\n\tservice_description=HTTP\n\tcomment_id=12\n\tcomment_data=looking [outpost:FRA1:c7]\n\t}\n\n\
hostdowntime {\n\thost_name=FRA1_web01\n\tdowntime_id=3\n\tcomment=maint [outpost:FRA1:d2]\n\t}\n";

    #[test]
    fn parses_blocks_and_values_with_equals() {
        let blocks = parse(SAMPLE);
        assert_eq!(blocks.len(), 4);
        assert_eq!(blocks[1].kind, "servicestatus");
        assert_eq!(blocks[1].get("plugin_output"), Some("CRITICAL - a=b"));
        assert_eq!(blocks[1].get("problem_has_been_acknowledged"), Some("1"));
    }

    #[test]
    fn finds_ids_by_marker() {
        let blocks = parse(SAMPLE);
        let c = find_id(&blocks, &["hostcomment", "servicecomment"], "comment_data", "comment_id", "[outpost:FRA1:c7]");
        assert_eq!(c, Some(12));
        let d = find_id(&blocks, &["hostdowntime", "servicedowntime"], "comment", "downtime_id", "[outpost:FRA1:d2]");
        assert_eq!(d, Some(3));
        assert_eq!(find_id(&blocks, &["hostcomment"], "comment_data", "comment_id", "[outpost:FRA1:c7]"), None);
    }

    #[test]
    fn garbage_never_fails() {
        // an unterminated block is dropped, stray braces are ignored
        assert!(parse("}}}\n{\nx=y\n=\n").is_empty());
        assert_eq!(parse("a {\nk=v\n}\n}\n").len(), 1);
        assert!(parse("").is_empty());
    }
}
