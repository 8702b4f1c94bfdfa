//! Location IDs and location-prefixed object names (`FRA1_web01`).
//!
//! The NOC holds every satellite's hosts in one namespace, so each host name gets the location as prefix.
//! The template and separator are configurable; a [`Prefixer`] is checked once with [`Prefixer::new`]
//! (or [`Prefixer::validate`]) and then only fails for names that would be illegal in Nagios.

/// Longest location ID: it is also the frame header's limit (`frame::MAX_LOCATION_LEN`).
pub const MAX_LOCATION_LEN: usize = 32;
/// Longest object name accepted, in bytes. Nagios has no hard limit; this bounds memory and keeps UIs usable.
pub const MAX_OBJECT_NAME_LEN: usize = 255;
/// Nagios' default `illegal_object_name_chars`, plus `;` (which starts a comment in Nagios object files).
pub const ILLEGAL_OBJECT_NAME_CHARS: &str = "`~!$%^&*|'\"<>?,()=;";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The location ID breaks the rules of [`validate_location`]; fix the satellite's `location` setting.
    #[error("invalid location ID {id:?}: {why}")]
    Location { id: String, why: &'static str },
    /// The (prefixed) object name would be illegal in Nagios; rename the object on the satellite.
    #[error("invalid object name {name:?}: {why}")]
    Object { name: String, why: &'static str },
    /// The configured prefix template or separator is unusable; fix the NOC's naming settings.
    #[error("invalid naming template {template:?} with separator {separator:?}: {why}")]
    Template { template: String, separator: String, why: &'static str },
}

/// How the NOC names a satellite's objects. The default template `{location}{sep}{name}` with separator `_`.
/// Placeholders: `{location}`, `{sep}`, `{name}`; the template must use `{location}` and `{name}` once each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefixer {
    pub template: String,
    pub separator: String,
}

impl Default for Prefixer {
    fn default() -> Self {
        Prefixer { template: "{location}{sep}{name}".into(), separator: "_".into() }
    }
}

impl Prefixer {
    /// A checked prefixer; fails with [`NameError::Template`] naming what is wrong.
    pub fn new(template: &str, separator: &str) -> Result<Prefixer, NameError> {
        let p = Prefixer { template: template.into(), separator: separator.into() };
        p.validate()?;
        Ok(p)
    }

    /// Checks the template and separator: both placeholders exactly once, no illegal characters.
    pub fn validate(&self) -> Result<(), NameError> {
        let bad =
            |why| Err(NameError::Template { template: self.template.clone(), separator: self.separator.clone(), why });
        if self.template.matches("{location}").count() != 1 {
            return bad("the template must contain {location} exactly once");
        }
        if self.template.matches("{name}").count() != 1 {
            return bad("the template must contain {name} exactly once");
        }
        let literal = self.template.replace("{location}", "").replace("{name}", "").replace("{sep}", "");
        if literal.contains(['{', '}']) {
            return bad("unknown placeholder; use {location}, {sep} and {name}");
        }
        if [literal.as_str(), self.separator.as_str()]
            .iter()
            .any(|s| s.chars().any(|c| c.is_control() || ILLEGAL_OBJECT_NAME_CHARS.contains(c)))
        {
            return bad("the template or separator contains a character Nagios does not allow in object names");
        }
        Ok(())
    }

    /// The NOC-side name of a satellite's object, e.g. `FRA1_web01`.
    pub fn name(&self, location: &str, name: &str) -> Result<String, NameError> {
        validate_location(location)?;
        validate_object_name(name)?;
        let out = self.template.replace("{sep}", &self.separator);
        // Substitute {location} first in a template that cannot contain it twice; `name` is inserted last,
        // so braces inside an object name are never taken for placeholders.
        let out = out.replacen("{location}", location, 1).replacen("{name}", name, 1);
        validate_object_name(&out)?;
        Ok(out)
    }

    /// The satellite's local name inside a NOC-side name produced by [`Prefixer::name`] for `location`.
    pub fn strip<'a>(&self, location: &str, prefixed: &'a str) -> Option<&'a str> {
        let full = self.template.replace("{sep}", &self.separator).replacen("{location}", location, 1);
        let (before, after) = full.split_once("{name}")?;
        prefixed.strip_prefix(before)?.strip_suffix(after)
    }
}

/// 1..=32 characters of `A-Z a-z 0-9 - _`, starting with a letter or digit.
pub fn validate_location(id: &str) -> Result<(), NameError> {
    let bad = |why| Err(NameError::Location { id: id.to_string(), why });
    if id.is_empty() || id.len() > MAX_LOCATION_LEN {
        return bad("must be 1 to 32 characters");
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return bad("only letters, digits, '-' and '_' are allowed");
    }
    if !id.as_bytes()[0].is_ascii_alphanumeric() {
        return bad("must start with a letter or digit");
    }
    Ok(())
}

/// Rejects names Nagios cannot hold: its `illegal_object_name_chars` default, `;`, control characters,
/// leading or trailing whitespace, and names longer than [`MAX_OBJECT_NAME_LEN`] bytes.
pub fn validate_object_name(name: &str) -> Result<(), NameError> {
    let bad = |why| Err(NameError::Object { name: name.into(), why });
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > MAX_OBJECT_NAME_LEN {
        return bad("longer than 255 bytes");
    }
    if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        return bad("starts or ends with whitespace");
    }
    if name.chars().any(|c| c.is_control() || ILLEGAL_OBJECT_NAME_CHARS.contains(c)) {
        return bad(
            "contains a character Nagios does not allow in object names (one of `~!$%^&*|'\"<>?,()=; or a control character)",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_prefix_is_location_underscore_name() {
        let p = Prefixer::default();
        assert_eq!(p.name("FRA1", "web01"), Ok("FRA1_web01".into()));
        assert_eq!(p.strip("FRA1", "FRA1_web01"), Some("web01"));
        assert_eq!(p.strip("FRA2", "FRA1_web01"), None);
    }

    #[test]
    fn template_and_separator_are_configurable() {
        let p = Prefixer::new("{name}{sep}{location}", "-").expect("valid");
        assert_eq!(p.name("fra1", "web01"), Ok("web01-fra1".into()));
        assert_eq!(p.strip("fra1", "web01-fra1"), Some("web01"));
        let p = Prefixer::new("site.{location}{sep}{name}", "::").expect("valid");
        assert_eq!(p.name("X", "db"), Ok("site.X::db".into()));
        // Braces in object names are not placeholders.
        assert_eq!(Prefixer::default().name("A", "{location}"), Ok("A_{location}".into()));
    }

    #[test]
    fn bad_templates_are_refused_with_a_reason() {
        for (template, sep, why) in [
            ("{name}", "_", "{location} exactly once"),
            ("{location}{location}{name}", "_", "{location} exactly once"),
            ("{location}", "_", "{name} exactly once"),
            ("{loc}{location}{name}", "_", "unknown placeholder"),
            ("{location}{sep}{name}", "!", "does not allow"),
            ("{location}={name}", "_", "does not allow"),
        ] {
            let err = Prefixer::new(template, sep).expect_err(template);
            assert!(err.to_string().contains(why), "{template:?}: {err}");
        }
    }

    #[test]
    fn location_ids_are_validated() {
        for ok in ["FRA1", "a", "eu-west_2", &"x".repeat(32)] {
            assert_eq!(validate_location(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("", "1 to 32"),
            (&"x".repeat(33) as &str, "1 to 32"),
            ("FRA 1", "only letters"),
            ("FRÄ", "only letters"),
            ("-fra", "start with a letter"),
            ("_fra", "start with a letter"),
        ] {
            let err = validate_location(bad).expect_err(bad);
            assert!(err.to_string().contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn illegal_object_names_are_rejected() {
        let p = Prefixer::default();
        for ok in ["web01", "Disk /home", "Ünïcode host", "a.b-c_d:e/f"] {
            assert!(p.name("FRA1", ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("web$01", "does not allow"),
            ("a;b", "does not allow"),
            ("tab\there", "does not allow"),
            (" padded", "whitespace"),
            (&"x".repeat(300) as &str, "longer than"),
        ] {
            let err = p.name("FRA1", bad).expect_err(bad);
            assert!(err.to_string().contains(why), "{bad:?}: {err}");
        }
        assert!(matches!(p.name("bad id", "web01"), Err(NameError::Location { .. })));
    }
}
