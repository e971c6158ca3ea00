//! Every line the process logs, at every level, for tests that search the logs for secrets.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// What the process logged since [`capture_every_line`].
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the process's one global subscriber at TRACE into a capture: the servers' and engines'
/// tasks run on other threads, which a thread-local subscriber would miss.
pub fn capture_every_line() -> Capture {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    capture
}

impl Capture {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())).to_string()
    }

    /// Fails on the first line holding one of `secrets` (each long enough to be worth searching for),
    /// after checking that the work was logged at all.
    pub fn assert_none_of(&self, secrets: &[String]) {
        let logs = self.text();
        assert!(logs.contains("created copy"), "the capture saw the work ({} lines)", logs.lines().count());
        for secret in secrets {
            assert!(secret.len() >= 8, "a secret worth searching for: {secret:?}");
            if let Some(line) = logs.lines().find(|line| line.contains(secret.as_str())) {
                panic!("a secret value was logged: {line}");
            }
        }
    }
}
