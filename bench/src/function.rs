//! One cold invocation of a function binary: a new process started the way Lambda starts a custom
//! runtime, handed one event through the emulated Runtime API, timed from exec to its answer, its
//! peak memory read, then stopped.

use crate::emulator::{Answer, RuntimeApi};
use crate::error::BenchError;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tandem_simulators::faults::wall_busy_micros;

/// How often a function that has not answered yet is checked for having exited.
const EXIT_CHECK: Duration = Duration::from_millis(5);
/// What the emulator claims the function runs in.
const REGION_FALLBACK: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";

/// A deployed function: its binary and the settings of its Lambda configuration.
#[derive(Debug, Clone)]
pub struct Function {
    /// `webhook` or `poller`.
    pub name: String,
    pub binary: PathBuf,
    pub memory_mb: u32,
    /// The invocation timeout: the deadline handed out with each event.
    pub timeout: Duration,
}

/// What one cold invocation measured.
#[derive(Debug, Clone)]
pub struct ColdRun {
    /// From just before exec to the answer arriving at the Runtime API.
    pub cold_start: Duration,
    /// From just before exec to the event handed out: the runtime's initialisation (Lambda's "Init
    /// Duration").
    pub init: Duration,
    /// Wall time in which moto (through the relay) or a simulator was answering a call of the run.
    pub dependencies: Duration,
    /// VmHWM: the most resident memory the process had, in KiB.
    pub peak_rss_kib: u64,
    pub answer: Answer,
}

impl Function {
    fn lambda_name(&self) -> String {
        format!("tandem-bench-{}", self.name)
    }

    fn region() -> String {
        std::env::var("AWS_REGION").unwrap_or_else(|_| REGION_FALLBACK.to_string())
    }

    pub fn arn(&self) -> String {
        format!("arn:aws:lambda:{}:{ACCOUNT}:function:{}", Self::region(), self.lambda_name())
    }

    /// The variables Lambda sets for a custom runtime, pointing it at `api`.
    fn lambda_environment(&self, api: &RuntimeApi) -> Vec<(String, String)> {
        let name = self.lambda_name();
        let stream = format!("bench/[$LATEST]{}", uuid::Uuid::new_v4().simple());
        [
            ("AWS_LAMBDA_RUNTIME_API", api.endpoint()),
            ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", self.memory_mb.to_string()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
            ("AWS_REGION", Self::region()),
        ]
        .map(|(key, value)| (key.to_string(), value))
        .into()
    }

    /// Starts a new process with only Lambda's variables and `environment` (as a container has no
    /// other), hands it `event`, and waits for its answer. The function's output goes to `log`, or
    /// nowhere.
    pub async fn invoke_cold(
        &self,
        api: &RuntimeApi,
        environment: &[(String, String)],
        event: Vec<u8>,
        log: Option<&Path>,
    ) -> Result<ColdRun, BenchError> {
        let request_id = api.enqueue(&self.arn(), event, self.timeout);
        let mut command = Command::new(&self.binary);
        command.env_clear().envs(environment.iter().cloned()).envs(self.lambda_environment(api));
        output_to(&mut command, log)?;
        let started = Instant::now();
        let busy_before = wall_busy_micros();
        let mut process = Running::spawn(&mut command, &self.binary, &self.name)?;
        let hint = match log {
            Some(path) => format!("its output is in {}", path.display()),
            None => "run again with --logs DIR to keep its output".to_string(),
        };
        let waited = Instant::now();
        let recorded = loop {
            if let Some(recorded) = api.answer(&request_id, EXIT_CHECK).await {
                break recorded;
            }
            if let Some(status) = process.exited()? {
                api.discard_waiting();
                let init = api.init_errors().last().map(|error| String::from_utf8_lossy(&error.body).into_owned());
                let hint = init.map_or(hint.clone(), |init| format!("it reported {init}; {hint}"));
                return Err(BenchError::ExitedEarly { function: self.name.clone(), status, hint });
            }
            // The deadline plus a margin: a function past it is hung, not slow.
            if waited.elapsed() > self.timeout + Duration::from_secs(5) {
                api.discard_waiting();
                api.end_requests_held_open();
                return Err(BenchError::NoAnswer { function: self.name.clone(), waited: waited.elapsed(), hint });
            }
        };
        // The process now waits for its next event: its high-water mark covers the whole invocation.
        let dependencies = Duration::from_micros(wall_busy_micros().saturating_sub(busy_before));
        let peak_rss_kib = process.peak_rss_kib()?;
        process.stop()?;
        api.end_requests_held_open();
        Ok(ColdRun {
            cold_start: recorded.at.saturating_duration_since(started),
            init: recorded.handed_at.saturating_duration_since(started),
            dependencies,
            peak_rss_kib,
            answer: recorded.answer,
        })
    }
}

/// Sends `command`'s output (both streams) to the file `log`, or nowhere.
pub fn output_to(command: &mut Command, log: Option<&Path>) -> Result<(), BenchError> {
    match log {
        Some(path) => {
            let file = File::create(path).map_err(|source| BenchError::Write { path: path.into(), source })?;
            let copy = file.try_clone().map_err(|source| BenchError::Write { path: path.into(), source })?;
            command.stdout(copy).stderr(file);
        }
        None => {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        }
    }
    Ok(())
}

/// A started process (a function, `tandem serve`); dropping it kills the process.
pub struct Running {
    child: Child,
    function: String,
}

impl Running {
    /// Starts `command` (running `binary`), known in errors as `name`.
    pub fn spawn(command: &mut Command, binary: &Path, name: &str) -> Result<Running, BenchError> {
        let child = command.spawn().map_err(|source| BenchError::Spawn { path: binary.to_path_buf(), source })?;
        Ok(Running { child, function: name.to_string() })
    }

    fn failed(&self, source: std::io::Error) -> BenchError {
        BenchError::Process { function: self.function.clone(), pid: self.child.id(), source }
    }

    /// The exit status, once the process has exited.
    pub fn exited(&mut self) -> Result<Option<String>, BenchError> {
        match self.child.try_wait() {
            Ok(status) => Ok(status.map(|status| status.to_string())),
            Err(source) => Err(self.failed(source)),
        }
    }

    /// VmHWM: the most resident memory the process has had, in KiB.
    pub fn peak_rss_kib(&self) -> Result<u64, BenchError> {
        self.memory_kib("VmHWM")
    }

    /// VmRSS: the resident memory the process has now, in KiB.
    pub fn rss_kib(&self) -> Result<u64, BenchError> {
        self.memory_kib("VmRSS")
    }

    fn memory_kib(&self, line: &str) -> Result<u64, BenchError> {
        let pid = self.child.id();
        let memory_failed = |source| BenchError::PeakMemory { function: self.function.clone(), pid, source };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(memory_failed)?;
        status_kib(&status, line).ok_or_else(|| {
            memory_failed(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("no readable {line} line")))
        })
    }

    pub fn stop(&mut self) -> Result<(), BenchError> {
        self.child.kill().map_err(|source| self.failed(source))?;
        self.child.wait().map_err(|source| self.failed(source))?;
        Ok(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Already stopped on the normal path; on an error path the process must not outlive the bench.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A `VmHWM:   12345 kB` line of `/proc/<pid>/status` (`name` without the colon).
fn status_kib(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))?;
    let kib = line.trim().strip_suffix("kB")?;
    kib.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_high_water_mark_in_kib() {
        let status = "Name:\twebhook\nVmPeak:\t  812340 kB\nVmHWM:\t   23456 kB\nVmRSS:\t   20000 kB\n";
        assert_eq!(status_kib(status, "VmHWM"), Some(23_456));
        assert_eq!(status_kib(status, "VmRSS"), Some(20_000));
        assert_eq!(status_kib("Name:\twebhook\n", "VmHWM"), None);
        assert_eq!(status_kib("VmHWM:\t lots kB\n", "VmHWM"), None);
    }

    #[test]
    fn lambda_variables_point_the_runtime_at_the_emulator() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let api = runtime.block_on(RuntimeApi::start()).unwrap();
        let function = Function {
            name: "webhook".into(),
            binary: "webhook".into(),
            memory_mb: 256,
            timeout: Duration::from_secs(15),
        };
        let environment = function.lambda_environment(&api);
        let value = |key: &str| environment.iter().find(|(name, _)| name == key).map(|(_, value)| value.clone());
        assert_eq!(value("AWS_LAMBDA_RUNTIME_API"), Some(api.endpoint()));
        assert_eq!(value("AWS_LAMBDA_FUNCTION_NAME").as_deref(), Some("tandem-bench-webhook"));
        assert_eq!(value("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").as_deref(), Some("256"));
        for required in ["AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME"] {
            assert!(value(required).is_some_and(|value| !value.is_empty()), "{required}");
        }
        assert!(function.arn().ends_with(":function:tandem-bench-webhook"));
    }
}
