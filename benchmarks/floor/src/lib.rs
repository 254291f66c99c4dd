//! What both floors share: the scenario table, process CPU time, percentiles and the JSON line
//! that benchmarks/worker.py prints too, so benchmarks/run.py reads either the same way.

use std::time::Instant;

pub const EXIT_SKIP: i32 = 3;

/// The harness's data directory (benchmarks/server.py): www/ holds the served files.
pub fn bench_dir() -> String {
    std::env::var("HTTPR_BENCH_DIR").unwrap_or_else(|_| "/tmp/httpr-bench".to_string())
}

/// The bytes of a served file, to compare a probe's body with.
pub fn served(path: &str) -> Vec<u8> {
    let file = format!("{}/www{}", bench_dir(), path);
    std::fs::read(&file).unwrap_or_else(|e| {
        die(&format!(
            "cannot read {file}: {e} (python3 benchmarks/server.py start)"
        ))
    })
}

pub fn die(msg: &str) -> ! {
    eprintln!("floor: {msg}");
    std::process::exit(1)
}

pub fn skip(client: &str, scenario: &str, why: &str) -> ! {
    println!("{{\"client\":\"{client}\",\"scenario\":\"{scenario}\",\"skip\":\"{why}\"}}");
    std::process::exit(EXIT_SKIP)
}

/// CPU time of every thread of the process, as time.process_time() counts it.
pub fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, owned timespec for clock_gettime to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

pub fn maxrss_kb() -> i64 {
    // SAFETY: a zeroed rusage is valid; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    ru.ru_maxrss
}

pub fn warm_count(n: usize) -> usize {
    (n / 20).clamp(10, 200)
}

/// Times `n` calls of `one` after `warm` untimed ones and prints the result line.
/// `one` returns false for a wrong response, which fails the run.
pub fn sequential(client: &str, scenario: &str, n: usize, mut one: impl FnMut() -> bool) {
    let warm = warm_count(n);
    for _ in 0..warm {
        if !one() {
            die("warm-up: wrong response");
        }
    }
    let mut lat = Vec::with_capacity(n);
    let (c0, t0) = (cpu_seconds(), Instant::now());
    for i in 0..n {
        let t = Instant::now();
        if !one() {
            die(&format!("request {i}: wrong response"));
        }
        lat.push(t.elapsed().as_nanos() as u64);
    }
    let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    report(client, scenario, n, warm, wall, cpu, lat);
}

pub fn report(
    client: &str,
    scenario: &str,
    n: usize,
    warm: usize,
    wall: f64,
    cpu: f64,
    mut lat: Vec<u64>,
) {
    lat.sort_unstable();
    let rank = |p: f64| {
        let i = ((p * lat.len() as f64).ceil() as usize).clamp(1, lat.len().max(1)) - 1;
        lat.get(i).map_or(0.0, |ns| *ns as f64 / 1000.0)
    };
    println!(
        "{{\"client\":\"{client}\",\"adapter\":\"{client}\",\"scenario\":\"{scenario}\",\"n\":{n},\"ok\":{n},\
         \"warmup\":{warm},\"wall_s\":{wall},\"cpu_s\":{cpu},\"lat_us\":{{\"p50\":{},\"p99\":{}}},\
         \"gc_collections\":null,\"maxrss_kb\":{},\"rss_base_kb\":null,\"extra\":{{}}}}",
        rank(0.50),
        rank(0.99),
        maxrss_kb()
    );
}

/// (scenario, path) of the sequential GET scenarios a floor can run.
pub fn path_of(scenario: &str) -> Option<&'static str> {
    match scenario {
        "sync_5k" | "https_5k" => Some("/5k"),
        "sync_50k" => Some("/50k"),
        "sync_200k" => Some("/200k"),
        _ => None,
    }
}

pub fn args() -> (String, usize) {
    let a: Vec<String> = std::env::args().collect();
    if a.len() == 2 && a[1] == "--info" {
        return ("--info".to_string(), 0);
    }
    if a.len() != 3 {
        die("usage: FLOOR SCENARIO N | FLOOR --info");
    }
    let n = a[2]
        .parse()
        .unwrap_or_else(|_| die("N must be a positive integer"));
    (a[1].clone(), n)
}
