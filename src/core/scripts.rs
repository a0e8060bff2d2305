//! The script queue (docs/behaviour.md §14): which `notification-script` and
//! `client-reconfig-script` runs are pending, when each may start, how many run at once,
//! when a run is retried and when it is killed. It decides only; the shell executes
//! [`Output::RunScript`] / [`Output::KillScript`] and reports
//! [`Input::ScriptStarted`](super::Input) and `ScriptExited`.
//!
//! Rules (§2.2, §14): at most [`QUEUE_MAX`] jobs (the oldest *non-running* one is dropped
//! beyond that), at most [`RUNNING_MAX`] running, oldest eligible first; exit 0 → done;
//! exit 1 or a signal → retried after `script-retry-delay × 2^(k−1)` unless it already
//! ran [`ATTEMPTS_MAX`] times; exit ≥ 2, exhausted retries, or a process that could not be
//! started (Redis: `execve` failure exits the child with 2) → `-script-error`, dropped.
//! A run older than `script-max-runtime` is SIGKILLed (`-script-timeout`), which counts
//! as "killed by a signal".
//!
//! Never touches a process or a file: the path is handed to the shell unchanged.

use super::io::Io;
use super::{Level, Millis, Output, Timing};
use crate::resp::Value;
use std::collections::VecDeque;

/// Queue limit (§2.2).
pub const QUEUE_MAX: usize = 256;
/// Concurrently running scripts (§2.2).
pub const RUNNING_MAX: usize = 16;
/// Runs of one job before it is given up (§2.2).
pub const ATTEMPTS_MAX: u32 = 10;
/// Arguments passed to a script at most (§2.2).
pub const ARGS_MAX: usize = 16;

/// One queued script run and its retries.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Job {
    id: u64,
    path: String,
    args: Vec<String>,
    /// Times it was started so far (Redis `retry_num`).
    attempts: u32,
    /// `Some(start time)` while running.
    running_since: Option<Millis>,
    /// The process id the shell reported (0 until then).
    pid: u32,
    /// Earliest start of the next attempt.
    start_after: Millis,
    /// A KillScript was ordered for the current run.
    kill_sent: bool,
}

/// The queue, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Scripts {
    jobs: VecDeque<Job>,
    next_id: u64,
}

impl Scripts {
    /// Appends a run of `path` with `args`; beyond [`QUEUE_MAX`] the oldest job that is
    /// not running is dropped.
    pub fn enqueue(&mut self, path: &str, mut args: Vec<String>, now: Millis) {
        args.truncate(ARGS_MAX);
        self.next_id += 1;
        let job = Job {
            id: self.next_id,
            path: path.to_string(),
            args,
            attempts: 0,
            running_since: None,
            pid: 0,
            start_after: now,
            kill_sent: false,
        };
        self.jobs.push_back(job);
        if self.jobs.len() > QUEUE_MAX {
            if let Some(i) = self.jobs.iter().position(|j| j.running_since.is_none()) {
                self.jobs.remove(i);
            }
        }
    }

    pub fn running(&self) -> usize {
        self.jobs.iter().filter(|j| j.running_since.is_some()).count()
    }

    pub fn queued(&self) -> usize {
        self.jobs.len()
    }

    /// §2.1 step 4: start eligible jobs (oldest first) and kill runs past their limit.
    pub fn tick(&mut self, io: &mut Io, t: &Timing, now: Millis) {
        let mut running = self.running();
        for job in self.jobs.iter_mut() {
            if running >= RUNNING_MAX {
                break;
            }
            if job.running_since.is_none() && job.start_after <= now {
                job.attempts += 1;
                job.running_since = Some(now);
                job.pid = 0;
                job.kill_sent = false;
                running += 1;
                io.push(Output::RunScript { id: job.id, path: job.path.clone(), args: job.args.clone() });
            }
        }
        for job in self.jobs.iter_mut() {
            let Some(since) = job.running_since else { continue };
            if !job.kill_sent && now.saturating_sub(since) > t.script_max_runtime {
                job.kill_sent = true;
                io.event(Level::Warning, "-script-timeout", None, format!("{} {}", job.path, job.pid));
                io.push(Output::KillScript { id: job.id });
            }
        }
    }

    /// The shell started job `id` as process `pid`.
    pub fn started(&mut self, io: &mut Io, id: u64, pid: u32) {
        if let Some(job) = self.jobs.iter_mut().find(|j| j.id == id && j.running_since.is_some()) {
            job.pid = pid;
            io.event(Level::Debug, "+script-child", None, pid.to_string());
        }
    }

    /// The run of job `id` ended with `code` or by `signal` (both `None`: it could not be
    /// started at all, which Redis reports as an `execve` failure, exit 2).
    pub fn exited(&mut self, io: &mut Io, t: &Timing, id: u64, code: Option<i32>, signal: Option<i32>, now: Millis) {
        let Some(i) = self.jobs.iter().position(|j| j.id == id && j.running_since.is_some()) else { return };
        let code = match (code, signal) {
            (None, None) => 2,
            (c, _) => c.unwrap_or(0),
        };
        let sig = signal.unwrap_or(0);
        let job = &mut self.jobs[i];
        io.event(Level::Debug, "-script-child", None, format!("{} {} {}", job.pid, code, sig));
        let retry = signal.is_some() || code == 1;
        if code == 0 && signal.is_none() {
            self.jobs.remove(i);
        } else if retry && job.attempts < ATTEMPTS_MAX {
            job.running_since = None;
            job.pid = 0;
            job.start_after = now.saturating_add(retry_delay(t, job.attempts));
        } else {
            io.event(Level::Warning, "-script-error", None, format!("{} {} {}", job.path, sig, code));
            self.jobs.remove(i);
        }
    }

    /// `SENTINEL PENDING-SCRIPTS` (§11.4): one map per job, every value a bulk string.
    pub fn pending(&self, now: Millis) -> Value {
        let maps = self.jobs.iter().map(|j| {
            let mut argv = vec![Value::bulk(&j.path)];
            argv.extend(j.args.iter().map(Value::bulk));
            let flags = if j.running_since.is_some() { "running" } else { "scheduled" };
            let (key, ms) = match j.running_since {
                Some(since) => ("run-time", now.saturating_sub(since)),
                None => ("run-delay", j.start_after.saturating_sub(now)),
            };
            Value::Map(vec![
                (Value::bulk("argv"), Value::Array(argv)),
                (Value::bulk("flags"), Value::bulk(flags)),
                (Value::bulk("pid"), Value::bulk(j.pid.to_string())),
                (Value::bulk(key), Value::bulk(ms.to_string())),
                (Value::bulk("retry-num"), Value::bulk(j.attempts.to_string())),
            ])
        });
        Value::Array(maps.collect())
    }
}

/// Delay before attempt `attempts + 1`: `script-retry-delay × 2^(attempts−1)` (§14).
fn retry_delay(t: &Timing, attempts: u32) -> Millis {
    let doublings = attempts.saturating_sub(1).min(32);
    t.script_retry_delay.saturating_mul(1u64 << doublings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::io::Queued;
    use crate::core::Event;

    fn outputs(io: &mut Io) -> Vec<Output> {
        io.queue.drain(..).filter_map(|q| if let Queued::Out(o) = q { Some(o) } else { None }).collect()
    }

    fn runs(io: &mut Io) -> Vec<u64> {
        outputs(io)
            .into_iter()
            .filter_map(|o| if let Output::RunScript { id, .. } = o { Some(id) } else { None })
            .collect()
    }

    fn events(out: &[Output]) -> Vec<(&'static str, String)> {
        out.iter()
            .filter_map(|o| match o {
                Output::Event(Event { name, message, level, .. }) if *level > Level::Debug => {
                    Some((*name, message.clone()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn runs_with_arguments_and_exit_zero_removes() {
        let (mut s, mut io, t) = (Scripts::default(), Io::new(1), Timing::default());
        s.enqueue("/bin/x", vec!["+sdown".into(), "master m 1.2.3.4 5".into()], 10);
        s.tick(&mut io, &t, 10);
        let out = outputs(&mut io);
        assert_eq!(
            out,
            vec![Output::RunScript {
                id: 1,
                path: "/bin/x".into(),
                args: vec!["+sdown".into(), "master m 1.2.3.4 5".into()]
            }]
        );
        assert_eq!((s.running(), s.queued()), (1, 1));
        s.exited(&mut io, &t, 1, Some(0), None, 20);
        assert_eq!(s.queued(), 0);
        assert!(events(&outputs(&mut io)).is_empty());
    }

    #[test]
    fn concurrency_is_capped_oldest_first() {
        let (mut s, mut io, t) = (Scripts::default(), Io::new(1), Timing::default());
        for _ in 0..20 {
            s.enqueue("/bin/x", vec![], 0);
        }
        s.tick(&mut io, &t, 0);
        assert_eq!(runs(&mut io), (1..=16).collect::<Vec<_>>());
        s.tick(&mut io, &t, 1);
        assert!(runs(&mut io).is_empty(), "no 17th concurrent run");
        s.exited(&mut io, &t, 3, Some(0), None, 2);
        s.tick(&mut io, &t, 2);
        assert_eq!(runs(&mut io), vec![17]);
    }

    #[test]
    fn queue_drops_oldest_non_running() {
        let (mut s, mut io, t) = (Scripts::default(), Io::new(1), Timing::default());
        s.enqueue("/bin/first", vec![], 0);
        s.tick(&mut io, &t, 0); // job 1 runs
        for _ in 0..QUEUE_MAX {
            s.enqueue("/bin/x", vec![], 0);
        }
        assert_eq!(s.queued(), QUEUE_MAX);
        let ids: Vec<u64> = s.jobs.iter().map(|j| j.id).collect();
        assert_eq!(ids[0], 1, "the running job is kept");
        assert_eq!(ids[1], 3, "job 2, the oldest non-running one, was dropped");
    }

    #[test]
    fn exit_one_and_signals_retry_with_doubling_delay_then_give_up() {
        let (mut s, mut io, mut t) = (Scripts::default(), Io::new(1), Timing::default());
        t.script_retry_delay = 100;
        s.enqueue("/bin/x", vec![], 0);
        let mut now = 0;
        for attempt in 1..=ATTEMPTS_MAX {
            s.tick(&mut io, &t, now);
            assert_eq!(runs(&mut io), vec![1], "attempt {attempt} starts at {now}");
            let (code, sig) = if attempt % 2 == 0 { (None, Some(9)) } else { (Some(1), None) };
            s.exited(&mut io, &t, 1, code, sig, now);
            if attempt < ATTEMPTS_MAX {
                let delay = 100 << (attempt - 1);
                s.tick(&mut io, &t, now + delay - 1);
                assert!(runs(&mut io).is_empty(), "attempt {} not before {delay} ms", attempt + 1);
                now += delay;
            }
        }
        assert_eq!(s.queued(), 0);
        assert_eq!(events(&outputs(&mut io)), vec![("-script-error", "/bin/x 9 0".to_string())]);
    }

    #[test]
    fn exit_two_or_unstartable_is_an_error_without_retry() {
        let (mut s, mut io, t) = (Scripts::default(), Io::new(1), Timing::default());
        s.enqueue("/bin/x", vec![], 0);
        s.enqueue("/nonexistent", vec![], 0);
        s.tick(&mut io, &t, 0);
        outputs(&mut io);
        s.exited(&mut io, &t, 1, Some(3), None, 5);
        s.exited(&mut io, &t, 2, None, None, 5);
        let ev = events(&outputs(&mut io));
        assert_eq!(ev, vec![("-script-error", "/bin/x 0 3".into()), ("-script-error", "/nonexistent 0 2".into())]);
        assert_eq!(s.queued(), 0);
    }

    #[test]
    fn overlong_run_is_killed_once_and_retried() {
        let (mut s, mut io, mut t) = (Scripts::default(), Io::new(1), Timing::default());
        t.script_max_runtime = 1000;
        s.enqueue("/bin/slow", vec![], 0);
        s.tick(&mut io, &t, 0);
        s.started(&mut io, 1, 4242);
        outputs(&mut io);
        s.tick(&mut io, &t, 1000);
        assert!(outputs(&mut io).is_empty(), "not killed at exactly the limit");
        s.tick(&mut io, &t, 1001);
        let out = outputs(&mut io);
        assert_eq!(events(&out), vec![("-script-timeout", "/bin/slow 4242".into())]);
        assert!(out.contains(&Output::KillScript { id: 1 }));
        s.tick(&mut io, &t, 1100);
        assert!(outputs(&mut io).is_empty(), "kill ordered once");
        s.exited(&mut io, &t, 1, None, Some(9), 1101);
        assert_eq!((s.running(), s.queued()), (0, 1), "killed by a signal → retried");
    }

    #[test]
    fn pending_scripts_lists_running_and_scheduled() {
        let (mut s, mut io, t) = (Scripts::default(), Io::new(1), Timing::default());
        s.enqueue("/bin/x", vec!["a".into()], 0);
        s.enqueue("/bin/y", vec![], 0);
        s.tick(&mut io, &t, 0);
        s.started(&mut io, 1, 77);
        s.exited(&mut io, &t, 2, Some(1), None, 0);
        let Value::Array(list) = s.pending(400) else { panic!("array") };
        let first = Value::Map(vec![
            (Value::bulk("argv"), Value::Array(vec![Value::bulk("/bin/x"), Value::bulk("a")])),
            (Value::bulk("flags"), Value::bulk("running")),
            (Value::bulk("pid"), Value::bulk("77")),
            (Value::bulk("run-time"), Value::bulk("400")),
            (Value::bulk("retry-num"), Value::bulk("1")),
        ]);
        assert_eq!(list[0], first);
        let Value::Map(second) = &list[1] else { panic!("map") };
        assert_eq!(second[1].1, Value::bulk("scheduled"));
        assert_eq!(second[3], (Value::bulk("run-delay"), Value::bulk("29600")));
    }

    #[test]
    fn warning_events_about_a_master_run_its_notification_script() {
        use crate::core::{Addr, Input, MasterSnapshot, Options, Sentinel, Snapshot};
        let mut snap = Snapshot::new("a".repeat(40));
        let mut m = MasterSnapshot::new("m", Addr::new("127.0.0.1", 6379), 2);
        m.notification_script = Some("/bin/notify".into());
        snap.masters.push(m);
        let opts = Options { port: 26379, seed: 1, timing: Timing::default(), requirepass: None };
        let mut core = Sentinel::new(snap, opts, 0);
        while core.poll_output().is_some() {}
        let args = ["SENTINEL", "SET", "m", "quorum", "3"].map(|a| a.as_bytes().to_vec()).to_vec();
        core.handle(5, Input::Command { client: crate::core::ClientId(1), args });
        core.handle_timeout(core.poll_timeout().max(5));
        let runs: Vec<Output> =
            std::iter::from_fn(|| core.poll_output()).filter(|o| matches!(o, Output::RunScript { .. })).collect();
        let run = |id, ev: &str, msg: &str| Output::RunScript {
            id,
            path: "/bin/notify".into(),
            args: vec![ev.to_string(), msg.to_string()],
        };
        // `+monitor` at startup too, like Redis.
        let want = vec![
            run(1, "+monitor", "master m 127.0.0.1 6379 quorum 2"),
            run(2, "+set", "master m 127.0.0.1 6379 quorum 3"),
        ];
        assert_eq!(runs, want);
    }
}
