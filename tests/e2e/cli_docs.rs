//! The command-line reference stays true: every subcommand of `noc` and `satellite` (found by walking their
//! `--help`) has an entry in the docs listing each of its long flags, every subcommand and option says what it
//! does, and every command line the docs or the systemd units show (`noc …`, `satellite …`) names subcommands
//! and flags that exist, in the place where the binary accepts them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use outpost_tests::{bin, workspace_root};

/// One option of one command, from its `--help`.
#[derive(Debug, Clone)]
struct Opt {
    long: Option<String>,
    short: Option<char>,
    takes_value: bool,
    described: bool,
}

/// One command (the binary itself or a subcommand) as its `--help` describes it.
#[derive(Debug, Default)]
struct Cmd {
    about: String,
    subcommands: Vec<(String, bool)>,
    options: Vec<Opt>,
}

impl Cmd {
    fn opt(&self, flag: &str) -> Option<&Opt> {
        if let Some(long) = flag.strip_prefix("--") {
            self.options.iter().find(|o| o.long.as_deref() == Some(long))
        } else {
            let c = flag.strip_prefix('-')?.chars().next()?;
            self.options.iter().find(|o| o.short == Some(c))
        }
    }
}

/// The lines of a `--help` section (`Commands:`, `Options:`) up to the next blank line.
fn section<'a>(help: &'a str, title: &str) -> Vec<&'a str> {
    help.lines().skip_while(|l| l.trim() != title).skip(1).take_while(|l| !l.trim().is_empty()).collect()
}

fn parse_help(help: &str) -> Cmd {
    let about = help.lines().next().unwrap_or("").trim().to_string();
    let subcommands = section(help, "Commands:")
        .iter()
        .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let name = words.next()?.to_string();
            Some((name, words.next().is_some()))
        })
        .filter(|(n, _)| n != "help")
        .collect();
    let options = section(help, "Options:")
        .iter()
        .filter(|l| l.trim_start().starts_with('-'))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let mut opt = Opt { long: None, short: None, takes_value: false, described: false };
            let mut i = 0;
            while i < words.len() {
                let w = words[i].trim_end_matches(',');
                if let Some(long) = w.strip_prefix("--") {
                    opt.long = Some(long.to_string());
                } else if w.starts_with('-') && w.len() == 2 {
                    opt.short = w.chars().nth(1);
                } else if w.starts_with('<') {
                    opt.takes_value = true;
                } else {
                    break;
                }
                i += 1;
            }
            opt.described = i < words.len();
            opt
        })
        .collect();
    Cmd { about, subcommands, options }
}

/// The summary help (`-h`): one line per option even where a command has a long description, which makes
/// clap's `--help` put every option's description on a line of its own.
fn help_of(binary: &str, path: &[String]) -> String {
    let out = Command::new(bin(binary)).args(path).arg("-h").output().expect("run -h");
    assert!(out.status.success(), "{binary} {} -h failed", path.join(" "));
    String::from_utf8(out.stdout).expect("utf-8 help")
}

/// Every command of `binary`, keyed by its path of subcommand names (empty: the binary itself).
fn command_tree(binary: &str) -> BTreeMap<Vec<String>, Cmd> {
    let mut tree = BTreeMap::new();
    let mut todo = vec![Vec::new()];
    while let Some(path) = todo.pop() {
        let cmd = parse_help(&help_of(binary, &path));
        for (name, _) in &cmd.subcommands {
            let mut sub = path.clone();
            sub.push(name.clone());
            todo.push(sub);
        }
        tree.insert(path, cmd);
    }
    tree
}

/// README.md and docs/*.md, as (file name, text).
fn docs() -> Vec<(String, String)> {
    let root = workspace_root();
    let mut files = vec![root.join("README.md")];
    let mut md: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    md.sort();
    files.extend(md);
    files.into_iter().map(|p| (p.display().to_string(), std::fs::read_to_string(&p).expect("read doc"))).collect()
}

/// The command reference: the `## Command reference` section of docs/operations.md.
fn reference_section(docs: &[(String, String)]) -> String {
    let (_, text) = docs.iter().find(|(f, _)| f.ends_with("docs/operations.md")).expect("docs/operations.md");
    let start = text.find("\n## Command reference\n").expect("docs/operations.md has a `## Command reference` section");
    let rest = &text[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 4);
    rest[..end].to_string()
}

/// The reference entry of a command: the bullet whose head (the text before its first `: `) shows the invocation
/// in backticks, not followed by one of its subcommands; with its continuation lines.
fn reference_entry(reference: &str, invocation: &str, cmd: &Cmd) -> Option<String> {
    let needle = format!("`{invocation}");
    let names_it = |head: &str| {
        head.match_indices(&needle).any(|(i, _)| {
            let rest = &head[i + needle.len()..];
            let next = rest.split([' ', '`']).find(|w| !w.is_empty()).unwrap_or("");
            let next = next.trim_matches(|c| c == '[' || c == ']');
            rest.starts_with([' ', '`']) && !cmd.subcommands.iter().any(|(n, _)| next.split('|').any(|a| a == n))
        })
    };
    let lines: Vec<&str> = reference.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let bullet = line.trim_start();
        let indent = line.len() - bullet.len();
        if !bullet.starts_with("- `") || !names_it(bullet.split(": ").next().unwrap_or("")) {
            continue;
        }
        let mut entry = line.to_string();
        for more in &lines[i + 1..] {
            let body = more.trim_start();
            if more.len() - body.len() <= indent || body.starts_with("- ") {
                break;
            }
            entry.push('\n');
            entry.push_str(more);
        }
        return Some(entry);
    }
    None
}

fn check_reference(binary: &str, tree: &BTreeMap<Vec<String>, Cmd>, reference: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, cmd) in tree {
        let invocation = std::iter::once(binary.to_string()).chain(path.iter().cloned()).collect::<Vec<_>>().join(" ");
        if cmd.about.is_empty() || cmd.about.starts_with("Usage:") {
            problems.push(format!("`{invocation} --help` does not say what the command does"));
        }
        let parent = (!path.is_empty()).then(|| &tree[&path[..path.len() - 1]]);
        for o in &cmd.options {
            if !o.described {
                problems.push(format!("`{invocation} --help`: option {:?} has no description", o.long));
            }
        }
        let Some(entry) = reference_entry(reference, &invocation, cmd) else {
            problems.push(format!("docs/operations.md, Command reference: no bullet that starts with `{invocation}"));
            continue;
        };
        for long in cmd.options.iter().filter_map(|o| o.long.as_deref()) {
            let inherited = parent.is_some_and(|p| p.opt(&format!("--{long}")).is_some());
            if matches!(long, "help" | "version") || inherited {
                continue;
            }
            let flag = format!("--{long}");
            let found = entry
                .match_indices(&flag)
                .any(|(i, _)| !entry[i + flag.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-'));
            if !found {
                problems.push(format!("the reference entry of `{invocation}` does not mention {flag}"));
            }
        }
    }
    problems
}

/// Command lines shown in the docs: code spans, lines of fenced code blocks, and `ExecStart=` of the units.
fn shown_command_lines(docs: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (file, text) in docs {
        let mut fenced = false;
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                continue;
            }
            if fenced {
                out.push((file.clone(), line.to_string()));
                continue;
            }
            for (i, span) in line.split('`').enumerate() {
                if i % 2 == 1 {
                    out.push((file.clone(), span.to_string()));
                }
            }
        }
    }
    let packaging = workspace_root().join("packaging");
    for entry in std::fs::read_dir(&packaging).expect("packaging/") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read unit");
        for line in text.lines().filter_map(|l| l.strip_prefix("ExecStart=").or(l.strip_prefix("ExecReload="))) {
            out.push((path.display().to_string(), line.to_string()));
        }
    }
    out
}

/// Walks one shown command line through the command tree; returns what does not exist.
fn check_command_line(binary: &str, tree: &BTreeMap<Vec<String>, Cmd>, words: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut positional_only = false;
    let mut i = 0;
    while i < words.len() {
        let w = words[i].trim_matches(|c| c == '[' || c == ']' || c == '(' || c == ')');
        i += 1;
        if w.is_empty() || w == "…" || w == "..." {
            continue;
        }
        if ["|", "||", "&&", ";", "#", ">", "<", "2>&1"].contains(&w) || w.starts_with('#') {
            break;
        }
        let cmd = &tree[&path];
        if w.starts_with('-') && w.len() > 1 && !w.starts_with("-$") {
            let flag = w.split('=').next().unwrap_or(w);
            // A flag may be given to this command or, for global ones, any ancestor; clap shows globals on each.
            match cmd.opt(flag) {
                Some(o) => {
                    if o.takes_value && !w.contains('=') {
                        i += 1;
                    }
                }
                None => problems.push(format!("`{binary} {}` has no option {flag}", path.join(" "))),
            }
            continue;
        }
        if positional_only || cmd.subcommands.is_empty() {
            positional_only = true;
            continue;
        }
        // `accept|reject`: each alternative must exist.
        let mut next = None;
        for alt in w.split('|') {
            if cmd.subcommands.iter().any(|(n, _)| n == alt) {
                next.get_or_insert(alt.to_string());
            } else {
                problems.push(format!("`{binary} {}` has no subcommand {alt:?}", path.join(" ")));
            }
        }
        match next {
            Some(n) => path.push(n),
            None => break,
        }
    }
    problems
}

fn check_shown_lines(trees: &BTreeMap<&str, BTreeMap<Vec<String>, Cmd>>, docs: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = 0;
    for (file, line) in shown_command_lines(docs) {
        let words: Vec<&str> = line.split_whitespace().collect();
        // The binary is the first word (after a shell prompt or `sudo [-u USER]`), maybe with a directory.
        let mut start = 0;
        while let Some(w) = words.get(start).filter(|w| ["sudo", "$"].contains(*w)) {
            start += if *w == "sudo" && words.get(start + 1) == Some(&"-u") { 3 } else { 1 };
        }
        let Some(first) = words.get(start) else { continue };
        let name = first.rsplit('/').next().unwrap_or(first);
        let Some(tree) = trees.get(name) else { continue };
        seen += 1;
        for p in check_command_line(name, tree, &words[start + 1..]) {
            problems.push(format!("{file}: `{}`: {p}", line.trim()));
        }
    }
    assert!(seen > 20, "the docs show only {seen} command lines: is the scanner broken?");
    problems
}

#[test]
fn every_subcommand_and_flag_is_documented_and_every_documented_one_exists() {
    let docs = docs();
    let trees: BTreeMap<&str, _> = ["noc", "satellite"].into_iter().map(|b| (b, command_tree(b))).collect();
    assert!(trees["noc"].len() > 10 && trees["satellite"].len() > 10, "the help walk found too few commands");
    let reference = reference_section(&docs);
    let mut problems = Vec::new();
    for (binary, tree) in &trees {
        problems.extend(check_reference(binary, tree, &reference));
    }
    problems.extend(check_shown_lines(&trees, &docs));
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn the_checker_catches_what_it_should() {
    let help = "Does things\n\nUsage: x [OPTIONS] <COMMAND>\n\nCommands:\n  run   Run it\n  help  Print help\n\n\
                Options:\n  -c, --config <CONFIG>  The config\n      --quiet\n  -h, --help  Print help\n";
    let cmd = parse_help(help);
    assert_eq!(cmd.about, "Does things");
    assert_eq!(cmd.subcommands, vec![("run".to_string(), true)]);
    let config = cmd.opt("--config").expect("--config");
    assert!(config.takes_value && config.described && config.short == Some('c'));
    assert!(!cmd.opt("--quiet").expect("--quiet").described);
    let mut tree = BTreeMap::new();
    tree.insert(Vec::new(), cmd);
    tree.insert(vec!["run".to_string()], parse_help("Run it\n\nOptions:\n      --fast  Go fast\n"));
    assert!(check_command_line("x", &tree, &["-c", "FILE", "run", "--fast"]).is_empty());
    assert_eq!(check_command_line("x", &tree, &["run", "--slow"]).len(), 1, "unknown flag");
    assert_eq!(check_command_line("x", &tree, &["walk"]).len(), 1, "unknown subcommand");
    assert_eq!(check_command_line("x", &tree, &["--fast", "run"]).len(), 1, "flag at the wrong level");
    let reference = "- `x run` does it,\n  quickly with `--fast`.\n- `x --config FILE`: with a config\n";
    let problems = check_reference("x", &tree, reference);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].contains("\"quiet\") has no description") && problems[1].contains("mention --quiet"));
    assert!(check_reference("x", &tree, "- `x run` does it.\n").iter().any(|p| p.contains("does not mention --fast")));
    let both = "- `x run` and `x` (`--config`, `--quiet`, `--fast`): both\n";
    assert_eq!(check_reference("x", &tree, both).len(), 1, "one bullet may document several commands");
}
