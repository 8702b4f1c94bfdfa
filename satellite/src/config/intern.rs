//! Sharing what many objects have in common. A site of 100,000 services is typically a few templates applied
//! to many hosts: every `Disk /` service has the same configuration as shown to the NOC (the command line
//! *before* macro expansion, intervals, notification options, groups) and often the same expanded command.
//! Kept once behind an `Arc` instead of once per object, they cost nothing per service (measured in
//! docs/benchmarks.md, "Satellite checks").

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use outpost_format::model::ObjectConfig;

use super::{CheckDef, CommandLine};

/// Remembers the distinct configurations and commands seen while loading; dropped once the config is built.
#[derive(Default)]
pub struct Interner {
    configs: HashMap<u64, Vec<Arc<ObjectConfig>>>,
    commands: HashMap<Arc<CommandLine>, ()>,
}

impl Interner {
    /// `def` with its configuration and command replaced by the shared copy of an equal one, if seen before.
    pub fn share(&mut self, mut def: CheckDef) -> CheckDef {
        let bucket = self.configs.entry(config_hash(&def.config)).or_default();
        match bucket.iter().find(|c| **c == def.config) {
            Some(same) => def.config = same.clone(),
            None => bucket.push(def.config.clone()),
        }
        if let Some(cmd) = &def.command {
            match self.commands.get_key_value(cmd) {
                Some((same, ())) => def.command = Some(same.clone()),
                None => {
                    self.commands.insert(cmd.clone(), ());
                }
            }
        }
        def
    }
}

/// `ObjectConfig` (from `outpost-format`) does not implement `Hash`; this hashes the fields equality looks at.
fn config_hash(c: &ObjectConfig) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (&c.display_name, &c.address, &c.check_command).hash(&mut h);
    (c.check_interval, c.retry_interval, c.max_attempts).hash(&mut h);
    (c.notifications.enabled, c.notifications.interval, &c.notifications.options).hash(&mut h);
    (&c.groups, &c.custom_vars).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use outpost_format::ObjectKey;

    fn def(host: &str, display: &str) -> CheckDef {
        let config =
            ObjectConfig { display_name: display.into(), check_command: "check_x".into(), ..Default::default() };
        CheckDef {
            key: ObjectKey::service(host, display),
            config: Arc::new(config),
            command: Some(Arc::new(CommandLine::Direct { argv: vec!["/bin/true".into()] })),
            check_interval: std::time::Duration::from_secs(60),
            retry_interval: std::time::Duration::from_secs(60),
            timeout: std::time::Duration::from_secs(60),
            timeout_state: 3,
            active_checks: true,
            flap_detection: true,
            parents: Vec::new(),
        }
    }

    #[test]
    fn equal_parts_are_shared_and_different_ones_are_not() {
        let mut i = Interner::default();
        let a = i.share(def("h1", "Disk"));
        let b = i.share(def("h2", "Disk"));
        let c = i.share(def("h3", "PING"));
        assert!(Arc::ptr_eq(&a.config, &b.config));
        assert!(!Arc::ptr_eq(&a.config, &c.config));
        assert_eq!(c.config.display_name, "PING");
        let (ca, cc) = (a.command.expect("command"), c.command.expect("command"));
        assert!(Arc::ptr_eq(&ca, &cc), "same expanded command line");
        assert_eq!(b.key, ObjectKey::service("h2", "Disk"), "keys stay per object");
    }
}
