//! `INFO [section ...]` (§11.3): `server`, `clients`, `stats`, `cpu` are composed here,
//! `sentinel` comes from the core. Sections always appear in that fixed order (Redis's:
//! stats before cpu) whatever the argument order; unknown sections are ignored. A bulk
//! string, never verbatim. Field names and order are Redis 7.0's (tests/compat_diff.rs
//! compares them with `redis-sentinel`); counters a sentinel never moves (keyspace,
//! replication, eviction, defrag, forks) are reported as 0, as Redis does in sentinel mode.

use crate::resp::Value;
use crate::server::dispatch::lower;
use crate::server::session::Session;
use crate::server::shared::{process_run_id, Stats};
use std::fmt::Write;

const SECTIONS: [&str; 5] = ["server", "clients", "stats", "cpu", "sentinel"];

/// Which of [`SECTIONS`] the arguments select.
fn selected(args: &[Vec<u8>]) -> [bool; 5] {
    let wanted: Vec<String> = args.iter().map(|a| lower(a)).collect();
    let all = wanted.is_empty() || wanted.iter().any(|w| matches!(w.as_str(), "default" | "all" | "everything"));
    SECTIONS.map(|s| all || wanted.iter().any(|w| w == s))
}

impl Session {
    pub(crate) async fn info(&mut self, args: &[Vec<u8>]) {
        let wanted = selected(&args[1..]);
        let mut parts = Vec::new();
        let local = [Self::info_server, Self::info_clients, Self::info_stats, Self::info_cpu];
        for (build, on) in local.iter().zip(wanted) {
            if on {
                parts.push(build(self));
            }
        }
        if wanted[4] {
            match self.core_info_section().await {
                Some(section) => parts.push(section),
                None => return self.reply_err("sentinel is shutting down"),
            }
        }
        self.reply(Value::bulk(parts.join("\r\n")));
    }

    fn info_server(&self) -> String {
        let ctx = &self.shared.ctx;
        let uptime = self.shared.started.elapsed().as_secs();
        let executable = std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default();
        let mut s = String::from("# Server\r\n");
        let _ = write!(
            s,
            "redis_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:{}\r\n\
             redis_mode:sentinel\r\nos:{}\r\narch_bits:{}\r\nmonotonic_clock:POSIX clock_gettime\r\n\
             multiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\n\
             process_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\n\
             uptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:10\r\nconfigured_hz:10\r\nlru_clock:{}\r\n\
             executable:{executable}\r\nconfig_file:{}\r\nio_threads_active:0\r\n",
            crate::server::REDIS_VERSION,
            build_id(),
            os_name(),
            usize::BITS,
            std::process::id(),
            process_run_id(),
            ctx.port,
            unix_micros(),
            uptime / 86400,
            // Redis's LRU clock: seconds, 24 bits.
            (unix_micros() / 1_000_000) & ((1 << 24) - 1),
            ctx.config_file,
        );
        s
    }

    fn info_clients(&self) -> String {
        let clients = self.shared.clients().len();
        let maxclients = self.shared.ctx.limits.maxclients;
        format!(
            "# Clients\r\nconnected_clients:{clients}\r\ncluster_connections:0\r\nmaxclients:{maxclients}\r\n\
             client_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:0\r\n\
             tracking_clients:0\r\nclients_in_timeout_table:0\r\n"
        )
    }

    fn info_cpu(&self) -> String {
        let [user, sys, cuser, csys] = cpu_seconds();
        format!(
            "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:{csys:.6}\r\n\
             used_cpu_user_children:{cuser:.6}\r\nused_cpu_sys_main_thread:{sys:.6}\r\n\
             used_cpu_user_main_thread:{user:.6}\r\n"
        )
    }

    fn info_stats(&self) -> String {
        let (st, counters) = (&self.shared.stats, &self.shared.ctx.limits.counters);
        let (channels, patterns) = self.shared.clients().values().fold((0, 0), |(c, p), e| (c + e.sub, p + e.psub));
        format!(
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\n\
             instantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\n\
             total_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:0.00\r\n\
             instantaneous_output_kbps:0.00\r\ninstantaneous_input_repl_kbps:0.00\r\n\
             instantaneous_output_repl_kbps:0.00\r\nrejected_connections:{}\r\n{ZEROS_A}\
             pubsub_channels:{channels}\r\npubsub_patterns:{patterns}\r\n{ZEROS_B}total_error_replies:{}\r\n\
             dump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\n\
             io_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\n\
             reply_buffer_expands:0\r\n",
            Stats::get(&counters.connections_received),
            Stats::get(&counters.commands_processed),
            Stats::get(&st.net_input_bytes),
            Stats::get(&st.net_output_bytes),
            Stats::get(&counters.rejected_connections),
            Stats::get(&st.error_replies),
            Stats::get(&counters.commands_processed),
            Stats::get(&counters.commands_processed),
        )
    }
}

/// Stats fields between `rejected_connections` and `pubsub_channels` (Redis 7.0 order).
const ZEROS_A: &str = "sync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:0\r\n\
    expired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:0\r\n\
    evicted_keys:0\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\n\
    current_eviction_exceeded_time:0\r\nkeyspace_hits:0\r\nkeyspace_misses:0\r\n";

/// Stats fields between `pubsub_patterns` and `total_error_replies`.
const ZEROS_B: &str = "pubsubshard_channels:0\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\n\
    migrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\n\
    active_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\n\
    total_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\n\
    tracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:0\r\n";

/// `Linux 6.1.0-18-amd64 x86_64`, as `uname -s -r -m` (from /proc, no libc needed).
fn os_name() -> String {
    let read = |p: &str| std::fs::read_to_string(p).map(|s| s.trim().to_string()).ok();
    let kernel = read("/proc/sys/kernel/ostype").unwrap_or_else(|| std::env::consts::OS.to_string());
    let release = read("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{kernel} {release} {}", std::env::consts::ARCH)
}

fn unix_micros() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros()).unwrap_or(0)
}

/// Seconds of user, system, children-user, children-system CPU from /proc/self/stat
/// (fields 14–17 in clock ticks; Linux's USER_HZ is 100). Zeros where unavailable.
fn cpu_seconds() -> [f64; 4] {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    parse_cpu(&stat)
}

fn parse_cpu(stat: &str) -> [f64; 4] {
    // The command name (field 2) may contain spaces: count fields after its `)`.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3, so field n is at index n - 3.
    let tick = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    [tick(14), tick(15), tick(16), tick(17)]
}

/// `redis_build_id`: a hex string in Redis (clients such as redis-py parse INFO values
/// as numbers when they can, so `0` would arrive as an integer). Ours is derived from our
/// version, and starts with a letter so that it never reads as a number.
fn build_id() -> String {
    let h = crate::server::acl::sha256_hex(concat!("sentinel ", env!("CARGO_PKG_VERSION")).as_bytes());
    format!("a{}", &h[1..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_selection() {
        let a = |list: &[&str]| selected(&list.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>());
        assert_eq!(a(&[]), [true; 5]);
        assert_eq!(a(&["EVERYTHING"]), [true; 5]);
        assert_eq!(a(&["default"]), [true; 5]);
        assert_eq!(a(&["Sentinel", "server"]), [true, false, false, false, true]);
        assert_eq!(a(&["stats"]), [false, false, true, false, false]);
        assert_eq!(a(&["memory"]), [false; 5]);
    }

    #[test]
    fn cpu_fields_after_a_name_with_spaces() {
        let stat = "42 (a b) S 1 2 3 4 5 6 7 8 9 10 250 75 3 4 20 0";
        assert_eq!(parse_cpu(stat), [2.5, 0.75, 0.03, 0.04]);
    }
}
