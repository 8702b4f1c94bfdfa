//! Real plugins from Debian's monitoring-plugins, run the way the engine runs them.

use std::path::Path;
use std::time::Duration;

use outpost_satellite::check::{self, CheckOutcome, RunOptions};
use outpost_satellite::config::CommandLine;
use outpost_satellite::config::command::parse_command_line;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{fixture_plugin, plugin};

fn opts(is_host: bool) -> RunOptions<'static> {
    RunOptions {
        timeout: Duration::from_secs(20),
        timeout_state: 3,
        max_output_bytes: 8192,
        shell: Path::new("/bin/sh"),
        is_host,
    }
}

async fn run(argv: &[&str]) -> CheckOutcome {
    let cl = CommandLine::Direct { argv: argv.iter().map(|s| s.to_string()).collect() };
    check::run(&cl, opts(false)).await
}

#[tokio::test]
async fn check_dummy_exit_codes_map_to_states() {
    let dummy = plugin("check_dummy");
    let d = dummy.to_str().expect("utf-8 path");
    for (code, text) in [(0, "OK: fine"), (1, "WARNING: meh"), (2, "CRITICAL: bad"), (3, "UNKNOWN: eh")] {
        let arg = code.to_string();
        let out = run(&[d, &arg, &text[text.find(' ').expect("space") + 1..]]).await;
        assert_eq!(out.code, code, "{out:?}");
        assert_eq!(out.output.output, text);
        assert!(!out.timed_out);
    }
}

#[tokio::test]
async fn host_checks_map_warning_to_up_and_critical_to_down() {
    let dummy = plugin("check_dummy");
    for (exit, host_state) in [("0", 0), ("1", 0), ("2", 1), ("3", 1)] {
        let cl = CommandLine::Direct { argv: vec![dummy.display().to_string(), exit.into(), "x".into()] };
        assert_eq!(check::run(&cl, opts(true)).await.code, host_state, "exit {exit}");
    }
}

#[tokio::test]
async fn out_of_range_exit_and_signal_are_unknown_with_a_reason() {
    let exit = fixture_plugin("check_exit");
    let out = run(&[exit.to_str().expect("utf-8"), "7", "weird"]).await;
    assert_eq!(out.code, 3);
    assert_eq!(out.output.output, "(Return code of 7 is out of bounds) weird");

    let cl = parse_command_line("/bin/sh -c 'kill -9 $$'").expect("parse");
    let out = check::run(&cl, opts(false)).await;
    assert_eq!(out.code, 3);
    assert!(out.output.output.contains("killed by signal 9"), "{:?}", out.output.output);
}

#[tokio::test]
async fn missing_plugin_is_unknown_and_says_what_to_check() {
    let out = run(&["/usr/lib/nagios/plugins/check_does_not_exist"]).await;
    assert_eq!(out.code, 3);
    assert!(out.output.output.contains("could not execute"), "{:?}", out.output.output);
    assert!(out.output.output.contains("$USER1$"), "{:?}", out.output.output);
}

#[tokio::test]
async fn empty_output_is_reported() {
    let exit = fixture_plugin("check_exit");
    let out = run(&[exit.to_str().expect("utf-8"), "0"]).await;
    assert_eq!((out.code, out.output.output.as_str()), (0, "(No output returned from plugin)"));
}

#[tokio::test]
async fn output_is_capped() {
    let flood = fixture_plugin("check_flood");
    let out = run(&[flood.to_str().expect("utf-8")]).await;
    assert_eq!(out.code, 0);
    assert_eq!(out.output.output, "OK - flooding");
    assert!(out.output.long_output.len() <= 8192 + 32, "long output {} bytes", out.output.long_output.len());
    assert!(out.output.long_output.ends_with("(output truncated)"));
}

#[tokio::test]
async fn shell_is_used_only_when_needed_and_works() {
    let cl = parse_command_line("echo 'OK - via shell' | cat").expect("parse");
    assert!(matches!(cl, CommandLine::Shell { .. }));
    let out = check::run(&cl, opts(false)).await;
    assert_eq!((out.code, out.output.output.as_str()), (0, "OK - via shell"));
}

#[tokio::test]
async fn check_tcp_against_a_local_listener() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            drop(s);
        }
    });
    let tcp = plugin("check_tcp");
    let p = port.to_string();
    let out = run(&[tcp.to_str().expect("utf-8"), "-H", "127.0.0.1", "-p", &p]).await;
    assert_eq!(out.code, 0, "{:?}", out.output);
    assert!(out.output.perfdata.metrics.iter().any(|m| m.label == "time"), "{:?}", out.output.perfdata);

    // A port nobody listens on: CRITICAL.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let out = run(&[tcp.to_str().expect("utf-8"), "-H", "127.0.0.1", "-p", &closed.to_string()]).await;
    assert_eq!(out.code, 2, "{:?}", out.output);
}

/// A tiny HTTP server: answers every request with `status`.
async fn http_server(status: &'static str) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let body = "hello";
                let resp =
                    format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn check_http_against_a_local_server() {
    let http = plugin("check_http");
    let h = http.to_str().expect("utf-8");
    let ok = http_server("200 OK").await.to_string();
    let out = run(&[h, "-I", "127.0.0.1", "-p", &ok, "-u", "/health"]).await;
    assert_eq!(out.code, 0, "{:?}", out.output);
    assert!(out.output.output.contains("200"), "{:?}", out.output.output);

    let broken = http_server("500 Internal Server Error").await.to_string();
    let out = run(&[h, "-I", "127.0.0.1", "-p", &broken]).await;
    assert_eq!(out.code, 2, "{:?}", out.output);
}

#[tokio::test]
async fn check_disk_reports_root_with_perfdata() {
    let disk = plugin("check_disk");
    let out = run(&[disk.to_str().expect("utf-8"), "-w", "0%", "-c", "0%", "-p", "/"]).await;
    assert_eq!(out.code, 0, "{:?}", out.output);
    assert!(out.output.output.starts_with("DISK OK"), "{:?}", out.output.output);
    assert!(out.output.perfdata.metrics.iter().any(|m| m.label == "/"), "{:?}", out.output.perfdata);
}

#[tokio::test]
async fn check_load_with_thresholds() {
    let load = plugin("check_load");
    let l = load.to_str().expect("utf-8");
    let out = run(&[l, "-w", "1000,1000,1000", "-c", "2000,2000,2000"]).await;
    assert_eq!(out.code, 0, "{:?}", out.output);
    assert!(out.output.perfdata.metrics.iter().any(|m| m.label == "load1"), "{:?}", out.output.perfdata);
    // Any load is above -1: CRITICAL.
    let out = run(&[l, "-w", "0,0,0", "-c", "0,0,0"]).await;
    assert!(out.code == 2 || out.output.output.contains("load average: 0.00"), "{:?}", out.output);
}
