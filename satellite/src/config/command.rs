//! Check command lines: Nagios macro expansion and the decision whether a shell is needed.
//!
//! Macros are expanded once, when the config is loaded, so a check run allocates nothing for them.
//! The expanded line is split into arguments the way a POSIX shell splits simple words (single quotes,
//! double quotes, backslash). If the line uses anything only a shell understands (pipes, redirections,
//! `;`, `&`, `$(..)`, backticks, globs), it runs as `/bin/sh -c '<line>'` instead; otherwise the plugin is
//! spawned directly, with no shell in between.

use std::collections::BTreeMap;

use compact_str::CompactString;

/// How to start a check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CommandLine {
    /// Spawned directly: `argv[0]` is the program.
    Direct { argv: Vec<String> },
    /// Run through the configured shell with `-c`.
    Shell { script: String },
}

impl CommandLine {
    /// The program that will run, for messages.
    pub fn program(&self) -> &str {
        match self {
            CommandLine::Direct { argv } => argv.first().map_or("", String::as_str),
            CommandLine::Shell { .. } => "/bin/sh",
        }
    }
}

/// Values the macros of one object expand to.
pub struct MacroContext<'a> {
    pub host_name: &'a str,
    pub host_address: &'a str,
    pub host_alias: &'a str,
    pub service_desc: Option<&'a str>,
    pub service_display_name: Option<&'a str>,
    pub args: &'a [String],
    pub user: &'a BTreeMap<String, String>,
    pub host_vars: &'a BTreeMap<CompactString, CompactString>,
    pub service_vars: Option<&'a BTreeMap<CompactString, CompactString>>,
}

/// Expands `$MACRO$`s in `line`. `$$` is a literal `$`. Returns the name of the first unknown macro as the error.
pub fn expand_macros(line: &str, ctx: &MacroContext<'_>) -> Result<String, String> {
    let mut out = String::with_capacity(line.len() + 32);
    let mut rest = line;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('$') else {
            return Err(format!("unterminated macro starting at `{}`", &rest[start..]));
        };
        let name = &after[..end];
        if name.is_empty() {
            out.push('$');
        } else {
            out.push_str(&lookup(name, ctx).ok_or_else(|| name.to_string())?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn lookup(name: &str, ctx: &MacroContext<'_>) -> Option<String> {
    let value = match name {
        "HOSTNAME" => ctx.host_name,
        "HOSTADDRESS" => ctx.host_address,
        "HOSTALIAS" | "HOSTDISPLAYNAME" => ctx.host_alias,
        "SERVICEDESC" => ctx.service_desc?,
        "SERVICEDISPLAYNAME" => ctx.service_display_name.or(ctx.service_desc)?,
        _ => {
            if let Some(n) = name.strip_prefix("ARG") {
                let n: usize = n.parse().ok()?;
                // Nagios expands a missing $ARGn$ (up to 32) to the empty string.
                if !(1..=32).contains(&n) {
                    return None;
                }
                return Some(ctx.args.get(n - 1).cloned().unwrap_or_default());
            }
            if name.starts_with("USER") {
                return ctx.user.get(name).cloned();
            }
            if let Some(var) = name.strip_prefix("_HOST") {
                return find_var(ctx.host_vars, var);
            }
            if let Some(var) = name.strip_prefix("_SERVICE") {
                return find_var(ctx.service_vars?, var);
            }
            return None;
        }
    };
    Some(value.to_string())
}

/// Custom variables match case-insensitively, as in Nagios (`vars.snmp_community` is `$_HOSTSNMP_COMMUNITY$`).
fn find_var(vars: &BTreeMap<CompactString, CompactString>, name: &str) -> Option<String> {
    vars.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.to_string())
}

/// Splits an expanded command line, or says it needs a shell.
pub fn parse_command_line(line: &str) -> Result<CommandLine, String> {
    let mut argv = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        // Expansions inside double quotes need a shell.
                        Some('$' | '`') => return Ok(CommandLine::Shell { script: line.to_string() }),
                        Some(c) => word.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') | None => {}
                    Some(c) => word.push(c),
                }
            }
            ' ' | '\t' | '\n' => {
                if in_word {
                    argv.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '|' | '&' | ';' | '<' | '>' | '(' | ')' | '$' | '`' | '*' | '?' | '[' => {
                return Ok(CommandLine::Shell { script: line.to_string() });
            }
            '#' if !in_word => return Ok(CommandLine::Shell { script: line.to_string() }),
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        argv.push(word);
    }
    if argv.is_empty() {
        return Err("the command line is empty".into());
    }
    Ok(CommandLine::Direct { argv })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn direct(words: &[&str]) -> CommandLine {
        CommandLine::Direct { argv: words.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn splitting_cases() {
        let cases: &[(&str, CommandLine)] = &[
            ("/p/check_dummy 0 OK", direct(&["/p/check_dummy", "0", "OK"])),
            ("  a   b  ", direct(&["a", "b"])),
            ("a 'b c' d", direct(&["a", "b c", "d"])),
            ("a \"b 'c'\"", direct(&["a", "b 'c'"])),
            ("a b\\ c", direct(&["a", "b c"])),
            ("a ''", direct(&["a", ""])),
            ("check_http -r 'a.*b'", direct(&["check_http", "-r", "a.*b"])),
            ("check_load -w ~:10", direct(&["check_load", "-w", "~:10"])),
            ("a x#y", direct(&["a", "x#y"])),
            ("a | b", CommandLine::Shell { script: "a | b".into() }),
            ("a > /dev/null", CommandLine::Shell { script: "a > /dev/null".into() }),
            ("a; b", CommandLine::Shell { script: "a; b".into() }),
            ("a $(b)", CommandLine::Shell { script: "a $(b)".into() }),
            ("a \"$HOME\"", CommandLine::Shell { script: "a \"$HOME\"".into() }),
            ("a *", CommandLine::Shell { script: "a *".into() }),
        ];
        for (line, want) in cases {
            assert_eq!(&parse_command_line(line).expect(line), want, "{line}");
        }
        assert!(parse_command_line("a 'b").is_err());
        assert!(parse_command_line("   ").is_err());
    }

    #[test]
    fn macro_cases() {
        let user = BTreeMap::from([("USER1".to_string(), "/usr/lib/nagios/plugins".to_string())]);
        let host_vars = BTreeMap::from([("snmp_community".into(), "public".into())]);
        let svc_vars = BTreeMap::from([("port".into(), "8080".into())]);
        let args = vec!["80".to_string(), "/health".to_string()];
        let ctx = MacroContext {
            host_name: "web1",
            host_address: "127.0.0.1",
            host_alias: "Web one",
            service_desc: Some("HTTP"),
            service_display_name: None,
            args: &args,
            user: &user,
            host_vars: &host_vars,
            service_vars: Some(&svc_vars),
        };
        let cases: &[(&str, &str)] = &[
            ("$USER1$/check_tcp -H $HOSTADDRESS$ -p $ARG1$", "/usr/lib/nagios/plugins/check_tcp -H 127.0.0.1 -p 80"),
            ("$HOSTNAME$ $SERVICEDESC$ $SERVICEDISPLAYNAME$", "web1 HTTP HTTP"),
            ("u=$ARG2$ x=$ARG3$", "u=/health x="),
            ("$_HOSTSNMP_COMMUNITY$ $_SERVICEPORT$", "public 8080"),
            ("cost $$5", "cost $5"),
        ];
        for (line, want) in cases {
            assert_eq!(expand_macros(line, &ctx).as_deref(), Ok(*want), "{line}");
        }
        assert_eq!(expand_macros("$USER9$", &ctx), Err("USER9".into()));
        assert_eq!(expand_macros("$NOPE$", &ctx), Err("NOPE".into()));
        assert!(expand_macros("a $HOSTNAME", &ctx).is_err());
    }
}
