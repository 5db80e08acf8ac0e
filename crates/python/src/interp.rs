//! The interpreter: the `py/` sources written to a temporary folder, the
//! `--python` interpreter started on them, and the JSON lines between.
//!
//! The interpreter is started from the main thread after `Session::start`
//! pinned the process, so it (and every process it starts) runs on the
//! `--cores` CPUs. It leads a process group of its own, registered with the
//! guard, and gets `PR_SET_PDEATHSIG` through `guard::child_setup`; this
//! process becomes the child subreaper, so the interpreter's workers come
//! here to be reaped if the interpreter dies first. On an error, a deadline,
//! Ctrl-C or a drop the whole group is killed and reaped; if this process is
//! killed with SIGKILL the interpreter dies with it, and each of its workers
//! with the interpreter (the Python side asks for that in every child).

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use harness::{Case, Record, Session, UsageError, guard};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use serde_json::{Value, json};

use crate::reply::{Reply, Usage, text};

/// The oldest Python the sources run on.
pub const MIN_VERSION: (u32, u32) = (3, 9);
/// How long a starting interpreter may take to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(30);
/// The binary name in the records of an interpreter with the GIL on.
pub const WITH_GIL: &str = "python";
/// The binary name in the records of an interpreter with the GIL off (a
/// free-threaded build): its series never merge with a GIL build's.
pub const WITHOUT_GIL: &str = "python-nogil";

/// The program, and the package it imports, embedded at build time.
const MAIN: (&str, &str) = ("conpar_main.py", include_str!("../py/conpar_main.py"));
const PACKAGE: &[(&str, &str)] = &[
    ("__init__.py", include_str!("../py/__init__.py")),
    ("proto.py", include_str!("../py/proto.py")),
    ("kernel.py", include_str!("../py/kernel.py")),
    ("procs.py", include_str!("../py/procs.py")),
    ("deathsig.py", include_str!("../py/deathsig.py")),
    ("empty.py", include_str!("../py/empty.py")),
    ("cpu.py", include_str!("../py/cpu.py")),
    ("kitchen.py", include_str!("../py/kitchen.py")),
    ("fetch.py", include_str!("../py/fetch.py")),
    ("stall.py", include_str!("../py/stall.py")),
    ("spawn.py", include_str!("../py/spawn.py")),
    ("pingpong.py", include_str!("../py/pingpong.py")),
    ("memory.py", include_str!("../py/memory.py")),
];

/// `--python`: which interpreter runs the models.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Python")]
pub struct PythonArgs {
    /// The Python interpreter (3.9 or newer) that runs the models: a path,
    /// or a name looked up on PATH (python3.13t for a free-threaded build)
    #[arg(
        long,
        allow_negative_numbers = true,
        value_name = "PATH",
        default_value = "python3"
    )]
    pub python: String,
}

/// Who the interpreter says it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// `sys.executable`: the interpreter's own path, whatever `--python` named.
    pub executable: String,
    /// `platform.python_version()`.
    pub version: String,
    /// `sys.implementation.name` (`cpython`, `pypy`).
    pub implementation: String,
    /// Whether the GIL is on (`sys._is_gil_enabled()` where it exists, else true).
    pub gil: bool,
    /// What its timing loop adds to every sample, nanoseconds.
    pub overhead_ns: f64,
}

impl Identity {
    fn from_hello(v: &Value) -> anyhow::Result<Identity> {
        Ok(Identity {
            executable: text(v, "executable")?,
            version: text(v, "version")?,
            implementation: text(v, "implementation")?,
            gil: v.get("gil").and_then(Value::as_bool).unwrap_or(true),
            overhead_ns: v.get("overhead_ns").and_then(Value::as_f64).unwrap_or(0.0),
        })
    }

    /// `(major, minor)` of the version, if it reads as one.
    pub fn major_minor(&self) -> Option<(u32, u32)> {
        let mut it = self.version.split('.');
        Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
    }

    /// The binary name its records carry: [`WITH_GIL`] or [`WITHOUT_GIL`].
    pub fn label(&self) -> &'static str {
        if self.gil { WITH_GIL } else { WITHOUT_GIL }
    }

    /// `CPython 3.11.7 (/usr/bin/python3.11), GIL on`.
    pub fn describe(&self) -> String {
        let name = match self.implementation.as_str() {
            "cpython" => "CPython".to_string(),
            "pypy" => "PyPy".to_string(),
            other => other.to_string(),
        };
        format!(
            "{name} {} ({}), GIL {}",
            self.version,
            self.executable,
            if self.gil { "on" } else { "off" }
        )
    }
}

/// A running interpreter serving commands.
pub struct Interpreter {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    lines: BufReader<ChildStdout>,
    pid: i32,
    /// Who it is.
    pub id: Identity,
    asked: String,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for Interpreter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interpreter")
            .field("pid", &self.pid)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The temporary folders' names: `conpar-python-<pid of the binary>-…`.
const DIR_PREFIX: &str = "conpar-python-";

/// Removes the source folders in `tmp` that runs which ended without
/// cleaning up (killed by a signal or a deadline, which skip destructors)
/// left behind: those whose binary's pid no longer exists.
fn remove_stale(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Writes the sources into `dir`; returns the program's path.
fn write_sources(dir: &Path) -> anyhow::Result<PathBuf> {
    let package = dir.join("conpar_py");
    std::fs::create_dir(&package)
        .with_context(|| format!("cannot create {}", package.display()))?;
    for (name, text) in PACKAGE {
        std::fs::write(package.join(name), text)
            .with_context(|| format!("cannot write {}", package.join(name).display()))?;
    }
    let main = dir.join(MAIN.0);
    std::fs::write(&main, MAIN.1).with_context(|| format!("cannot write {}", main.display()))?;
    Ok(main)
}

impl Interpreter {
    /// Starts `--python` on the sources (after `Session::start`, which
    /// pinned this process) and reads its hello. A missing interpreter, or
    /// one that is not Python 3.9 or newer, is a usage error naming `--python`.
    pub fn start(s: &mut Session, args: &PythonArgs) -> anyhow::Result<Interpreter> {
        let py = Interpreter::spawn(&args.python)?;
        s.count_as_own(py.pid);
        s.note(&format!("python: {}", py.id.describe()));
        Ok(py)
    }

    /// Starts `python` without a session (pinning, notes and the guard's
    /// deadline are the caller's), reads its hello and checks its version.
    pub fn spawn(python: &str) -> anyhow::Result<Interpreter> {
        let usage = |why: String| -> anyhow::Error {
            UsageError(format!(
                "--python {python}: {why}; install Python {}.{} or newer, or name one with --python PATH",
                MIN_VERSION.0, MIN_VERSION.1
            ))
            .into()
        };
        if python.trim().is_empty() {
            return Err(usage("names no interpreter".into()));
        }
        guard::become_subreaper()?;
        remove_stale(&std::env::temp_dir());
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
            .tempdir()
            .context("cannot create a temporary folder for the Python sources")?;
        let main = write_sources(dir.path())?;
        let mut cmd = Command::new(python);
        cmd.args(["-I", "-B"])
            .arg(&main)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0);
        guard::setup_on_spawn(&mut cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| usage(format!("cannot run it ({e})")))?;
        let pid = child.id() as i32;
        guard::register_group(pid)?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut py = Interpreter {
            child: Some(child),
            stdin,
            lines: BufReader::new(stdout),
            pid,
            id: Identity {
                executable: python.to_string(),
                version: String::new(),
                implementation: String::new(),
                gil: true,
                overhead_ns: 0.0,
            },
            asked: python.to_string(),
            dir,
        };
        let hello = match py.read_line(Some(HELLO_TIMEOUT)) {
            Ok(Some(line)) => line,
            Ok(None) => {
                let how = py.exit_status();
                return Err(usage(format!(
                    "it is not Python {}.{} or newer: it {how} without saying hello",
                    MIN_VERSION.0, MIN_VERSION.1
                )));
            }
            Err(e) => return Err(usage(format!("it did not say hello: {e:#}"))),
        };
        let v: Value = serde_json::from_str(hello.trim())
            .map_err(|_| usage(format!("it printed {:?} instead of a hello", hello.trim())))?;
        let id = v
            .get("hello")
            .ok_or_else(|| usage(format!("it printed {:?} instead of a hello", hello.trim())))
            .and_then(|h| Identity::from_hello(h).map_err(|e| usage(format!("{e:#}"))))?;
        match id.major_minor() {
            Some(v) if v >= MIN_VERSION => {}
            _ => {
                return Err(usage(format!("it is Python {}", id.version)));
            }
        }
        py.id = id;
        Ok(py)
    }

    /// The interpreter's pid (the leader of its process group).
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The folder the sources were written to (removed when this is dropped).
    pub fn sources(&self) -> &Path {
        self.dir.path()
    }

    /// Sends one command and waits for its answer; an answer of `error`, or
    /// an interpreter that died, fails the run.
    pub fn call(&mut self, req: Value) -> anyhow::Result<Reply> {
        let cmd = req
            .get("cmd")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let mut line = serde_json::to_vec(&req)?;
        line.push(b'\n');
        let stdin = self
            .stdin
            .as_mut()
            .context("the interpreter's stdin is closed")?;
        if let Err(e) = stdin.write_all(&line).and_then(|()| stdin.flush()) {
            let how = self.exit_status();
            anyhow::bail!("python: cannot send `{cmd}` ({e}): the interpreter {how}");
        }
        let Some(answer) = self.read_line(None)? else {
            let how = self.exit_status();
            anyhow::bail!("python: the interpreter {how} before answering `{cmd}`");
        };
        let v: Value = serde_json::from_str(answer.trim()).with_context(|| {
            format!("python answered `{cmd}` with a line that is not JSON: {answer}")
        })?;
        if let Some(e) = v.get("error") {
            anyhow::bail!("python {cmd}: {}", e.as_str().unwrap_or("failed"));
        }
        Reply::from_json(v).with_context(|| format!("python's answer to `{cmd}`"))
    }

    /// Kernel units per millisecond of one core for this interpreter.
    pub fn calibrate(&mut self) -> anyhow::Result<f64> {
        let r = self.call(json!({"cmd": "calibrate"}))?;
        let u =
            r.ok.get("units_per_ms")
                .and_then(Value::as_f64)
                .unwrap_or(0.0);
        anyhow::ensure!(u > 0.0 && u.is_finite(), "python calibrated {u} units/ms");
        Ok(u)
    }

    /// The case's parameters that name the interpreter and the kind of unit
    /// the model runs (`thread`, `process`, `coroutine`).
    pub fn annotate(&self, case: Case, unit: &str) -> Case {
        case.param("unit", unit)
            .param("interpreter", self.id.executable.clone())
            .param("python_version", self.id.version.clone())
            .param("implementation", self.id.implementation.clone())
            .param("gil", self.id.gil)
    }

    /// What the record takes from the interpreter: its binary name (with or
    /// without the GIL), its CPU time, context switches and peak memory
    /// during the case, and its timing loop's overhead per sample.
    pub fn stamp(&self, r: &mut Record, usage: &Usage) {
        r.binary = self.id.label().to_string();
        r.cpu_user_ns += usage.user_ns;
        r.cpu_sys_ns += usage.sys_ns;
        r.ctx_switches.voluntary += usage.voluntary;
        r.ctx_switches.involuntary += usage.involuntary;
        if usage.peak_rss_bytes > 0 {
            r.max_rss_bytes = usage.peak_rss_bytes;
        }
        r.harness_overhead_ns = self.id.overhead_ns;
    }

    /// Ends the case: its record, stamped, emitted.
    pub fn emit(
        &self,
        s: &mut Session,
        case: Case,
        out: harness::Outcome,
        usage: &Usage,
    ) -> anyhow::Result<()> {
        let mut r = case.finish(s, out)?;
        self.stamp(&mut r, usage);
        s.emit(r)
    }

    /// Closes the interpreter's stdin and waits for it to exit by itself
    /// (it joins its workers first); any process left in its group is then
    /// killed and reaped. A non-zero exit fails the run.
    pub fn finish(mut self) -> anyhow::Result<()> {
        drop(self.stdin.take());
        let status = self
            .child
            .as_mut()
            .map(Child::wait)
            .transpose()
            .context("cannot wait for the interpreter")?;
        self.child = None;
        guard::unregister_group(self.pid);
        guard::kill_group(self.pid);
        if let Some(st) = status {
            anyhow::ensure!(
                st.success(),
                "python: the interpreter {}",
                guard::describe_exit(st)
            );
        }
        Ok(())
    }

    /// One line from the interpreter, `None` at its end; with a timeout, an
    /// error once it passes.
    fn read_line(&mut self, timeout: Option<Duration>) -> anyhow::Result<Option<String>> {
        if let Some(limit) = timeout {
            let deadline = Instant::now() + limit;
            while self.lines.buffer().is_empty() {
                let left = deadline.saturating_duration_since(Instant::now());
                anyhow::ensure!(!left.is_zero(), "nothing in {} s", limit.as_secs());
                let ms = PollTimeout::try_from(left.as_millis().min(1000) as i32)
                    .unwrap_or(PollTimeout::MAX);
                let mut fds = [PollFd::new(self.lines.get_ref().as_fd(), PollFlags::POLLIN)];
                match poll(&mut fds, ms) {
                    Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
                    Ok(_) => break,
                    Err(e) => return Err(e).context("cannot wait for the interpreter"),
                }
            }
        }
        let mut line = String::new();
        let n = self
            .lines
            .read_line(&mut line)
            .context("cannot read from the interpreter")?;
        Ok((n > 0).then_some(line))
    }

    /// How the interpreter ended, for messages (waits briefly for it).
    fn exit_status(&mut self) -> String {
        let Some(child) = self.child.as_mut() else {
            return "is gone".into();
        };
        for _ in 0..100 {
            if let Ok(Some(st)) = child.try_wait() {
                return guard::describe_exit(st);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        format!("(`{}`, pid {}) stopped answering", self.asked, self.pid)
    }
}

impl Drop for Interpreter {
    fn drop(&mut self) {
        if self.child.take().is_some() {
            guard::unregister_group(self.pid);
            guard::kill_group(self.pid);
        }
    }
}

/// A schedule as the Python side takes it.
pub fn schedule(s: &harness::Schedule) -> Value {
    json!({
        "warmup_ns": s.warmup.as_nanos() as u64,
        "duration_ns": s.duration.as_nanos() as u64,
        "min_samples": s.min_samples,
        "max_samples": s.max_samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_reads_a_hello() {
        let v = json!({"executable": "/usr/bin/python3.13t", "version": "3.13.1",
                       "implementation": "cpython", "gil": false, "pid": 7, "overhead_ns": 120.5});
        let id = Identity::from_hello(&v).unwrap();
        assert_eq!(id.major_minor(), Some((3, 13)));
        assert_eq!(id.label(), WITHOUT_GIL);
        assert!(id.describe().contains("CPython 3.13.1") && id.describe().contains("GIL off"));
        let old = Identity {
            version: "3.8.18".into(),
            ..id
        };
        assert!(old.major_minor().unwrap() < MIN_VERSION);
    }

    #[test]
    fn folders_of_runs_that_are_gone_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let gone = tmp.path().join(format!("{DIR_PREFIX}{}-abc", u32::MAX));
        let mine = tmp
            .path()
            .join(format!("{DIR_PREFIX}{}-abc", std::process::id()));
        let other = tmp.path().join("conpar-python-notes");
        for d in [&gone, &mine, &other] {
            std::fs::create_dir(d).unwrap();
        }
        remove_stale(tmp.path());
        assert!(!gone.exists() && mine.exists() && other.exists());
    }

    #[test]
    fn the_sources_are_written_as_a_package() {
        let dir = tempfile::tempdir().unwrap();
        let main = write_sources(dir.path()).unwrap();
        assert!(main.ends_with("conpar_main.py"));
        for (name, _) in PACKAGE {
            assert!(dir.path().join("conpar_py").join(name).is_file(), "{name}");
        }
    }
}
