//! Location IDs and location-prefixed object names (`FRA1_web01`).
//! (Stub with the agreed API; being implemented under issue #2.)

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("invalid location ID {id:?}: {why}")]
    Location { id: String, why: &'static str },
    #[error("invalid object name {name:?}: {why}")]
    Object { name: String, why: &'static str },
}

/// How the NOC names a satellite's objects. The default template `{location}{sep}{name}` with separator `_`.
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
    pub fn name(&self, location: &str, name: &str) -> Result<String, NameError> {
        validate_location(location)?;
        let out =
            self.template.replace("{location}", location).replace("{sep}", &self.separator).replace("{name}", name);
        validate_object_name(&out)?;
        Ok(out)
    }
}

/// 1..=32 characters of `A-Z a-z 0-9 - _`, starting with a letter or digit.
pub fn validate_location(id: &str) -> Result<(), NameError> {
    let bad = |why| Err(NameError::Location { id: id.to_string(), why });
    if id.is_empty() || id.len() > 32 {
        return bad("must be 1 to 32 characters");
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return bad("only letters, digits, '-' and '_' are allowed");
    }
    Ok(())
}

/// Rejects names Nagios cannot hold (its `illegal_object_name_chars` default plus control characters).
pub fn validate_object_name(name: &str) -> Result<(), NameError> {
    const ILLEGAL: &str = "`~!$%^&*|'\"<>?,()=";
    if name.is_empty() {
        return Err(NameError::Object { name: name.into(), why: "empty" });
    }
    if name.chars().any(|c| c.is_control() || ILLEGAL.contains(c)) {
        return Err(NameError::Object {
            name: name.into(),
            why: "contains a character Nagios does not allow in object names",
        });
    }
    Ok(())
}
