//! `flagsync eval` and `flagsync emulator` end to end, through the real binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

#[test]
fn eval_prints_the_oracle_answers() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/flags-runtime/tests/vectors");
    let out = Command::new(env!("CARGO_BIN_EXE_flagsync"))
        .args(["eval", "--input", &format!("{dir}/edge-holdouts.json")])
        .output()
        .expect("run flagsync eval");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let expected: Vec<serde_json::Value> =
        std::fs::read_to_string(format!("{dir}/edge-holdouts.expected.jsonl"))
            .expect("expected answers")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
    assert_eq!(ours.len(), expected.len());
    for (a, b) in ours.iter().zip(&expected) {
        for field in ["value", "payload", "inconclusive"] {
            assert_eq!(a[field], b[field], "case {}: {field}", b["i"]);
        }
    }
}

#[test]
fn eval_rejects_bad_input_with_exit_1() {
    let out = Command::new(env!("CARGO_BIN_EXE_flagsync"))
        .args([
            "eval",
            "--input",
            concat!(env!("CARGO_MANIFEST_DIR"), "/flags.yaml"),
        ])
        .output()
        .expect("run flagsync eval");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("flags.yaml"));
}

#[test]
fn emulator_serves_posthog_on_loopback() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flagsync"))
        .args(["emulator", "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start flagsync emulator");
    let mut env = std::collections::HashMap::new();
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    for _ in 0..5 {
        let line = lines.next().and_then(Result::ok).unwrap_or_default();
        if let Some((k, v)) = line.split_once('=') {
            env.insert(k.to_string(), v.to_string());
        }
    }
    let host = env["POSTHOG_HOST"]
        .trim_start_matches("http://")
        .to_string();
    let request = format!(
        "GET /api/projects/{}/feature_flags/ HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        env["POSTHOG_PROJECT_ID"], env["POSTHOG_PERSONAL_API_KEY"]
    );
    let mut stream = TcpStream::connect(&host).expect("connect to the emulator");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let _ = child.kill();
    let _ = child.wait();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"results\""), "{response}");
}
