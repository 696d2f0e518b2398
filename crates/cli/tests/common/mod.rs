//! Start and drive the real `accord` binary on free loopback ports.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

pub fn temp_home(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("accord-test-{name}-{}-{}", std::process::id(), free_port()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A running `accord dev`, killed on drop.
pub struct Dev {
    pub home: PathBuf,
    pub api: u16,
    pub p2p: u16,
    pub child: Option<Child>,
}

impl Dev {
    pub fn start(home: &Path) -> Self {
        let mut dev = Dev { home: home.to_path_buf(), api: free_port(), p2p: free_port(), child: None };
        dev.spawn();
        dev
    }

    pub fn spawn(&mut self) {
        let child = Command::new(env!("CARGO_BIN_EXE_accord"))
            .args(["--home", self.home.to_str().expect("utf-8 path"), "dev"])
            .args(["--api", &format!("127.0.0.1:{}", self.api), "--p2p", &format!("127.0.0.1:{}", self.p2p)])
            .args(["--block-interval-ms", "200"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("accord starts");
        self.child = Some(child);
        self.wait_ready();
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.api)
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::blocking::get(format!("{}/v1/status", self.url())) {
                if let Ok(v) = r.json::<serde_json::Value>() {
                    if v["height"].as_u64().unwrap_or(0) >= 1 {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("accord dev did not produce a block within 60 s");
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Run `accord --home H --node URL ARGS… --json`.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_accord"))
            .args(["--home", self.home.to_str().expect("utf-8 path"), "--node", &self.url(), "--json"])
            .args(args)
            .env("ACCORD_PASSPHRASE", "test passphrase")
            .output()
            .expect("accord runs")
    }

    /// Run the CLI, require success, parse its JSON.
    pub fn ok(&self, args: &[&str]) -> serde_json::Value {
        let out = self.cli(args);
        assert!(out.status.success(), "accord {args:?} failed: {}", String::from_utf8_lossy(&out.stdout));
        serde_json::from_slice(&out.stdout).expect("json output")
    }

    /// Run the CLI, require failure, return its JSON error text.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        assert!(!out.status.success(), "accord {args:?} should have failed");
        String::from_utf8_lossy(&out.stdout).to_string()
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}
