//! The reqwest floor: reqwest's async client driven on the calling thread by a current-thread
//! tokio runtime (block_on per request), the cheapest way a binding can drive it. Sequential
//! GETs over plain HTTP and TLS (https_5k), and async64_5k (64 in flight on the same runtime).

use std::sync::Arc;
use std::time::Instant;

use httpr_bench_floor::{
    args, bench_dir, cpu_seconds, die, path_of, report, sequential, served, skip,
};

const CLIENT: &str = "reqwest-floor";

fn main() {
    let (scenario, n) = args();
    if scenario == "--info" {
        println!("{{\"lib\":\"reqwest\",\"lib_version\":\"0.12\",\"python\":null}}");
        return;
    }
    let http = std::env::var("FLOOR_HTTP").unwrap_or_else(|_| "http://127.0.0.1:18280".to_string());
    let https =
        std::env::var("FLOOR_HTTPS").unwrap_or_else(|_| "https://127.0.0.1:18643".to_string());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ca_file = format!("{}/tls/ca.pem", bench_dir());
    let ca = std::fs::read(&ca_file).unwrap_or_else(|e| die(&format!("{ca_file}: {e}")));
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&ca).unwrap_or_else(|e| die(&format!("CA: {e}"))),
        )
        .build()
        .unwrap_or_else(|e| die(&format!("client: {e}")));
    if scenario == "async64_5k" {
        return async64(&rt, client, format!("{http}/5k"), n);
    }
    let Some(path) = path_of(&scenario) else {
        skip(CLIENT, &scenario, "not a scenario of the reqwest floor");
    };
    let url = format!(
        "{}{path}",
        if scenario.starts_with("https") {
            &https
        } else {
            &http
        }
    );
    let fetch = |url: &str| {
        rt.block_on(async {
            let r = client
                .get(url)
                .send()
                .await
                .unwrap_or_else(|e| die(&format!("{url}: {e}")));
            let status = r.status().as_u16();
            (
                status,
                r.bytes()
                    .await
                    .unwrap_or_else(|e| die(&format!("{url}: {e}"))),
            )
        })
    };
    let want = served(path);
    let (status, body) = fetch(&url);
    if status != 200 || body[..] != want[..] {
        die(&format!(
            "{url}: status {status}, body differs from the served file"
        ));
    }
    sequential(CLIENT, &scenario, n, || {
        let (status, body) = fetch(&url);
        status == 200 && body.len() == want.len()
    });
}

/// N tasks spawned up front, at most 64 in flight behind a semaphore, as the Python async64.
fn async64(rt: &tokio::runtime::Runtime, client: reqwest::Client, url: String, n: usize) {
    let size = served("/5k").len();
    let run = |k: usize, lat: Option<&mut Vec<u64>>| {
        rt.block_on(async {
            let sem = Arc::new(tokio::sync::Semaphore::new(64));
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..k {
                let (sem, client, url) = (sem.clone(), client.clone(), url.clone());
                set.spawn(async move {
                    let _permit = sem.acquire().await.unwrap();
                    let t = Instant::now();
                    let r = client
                        .get(&url)
                        .send()
                        .await
                        .unwrap_or_else(|e| die(&format!("{url}: {e}")));
                    let ok = r.status() == 200
                        && r.bytes().await.map(|b| b.len() == size).unwrap_or(false);
                    if !ok {
                        die(&format!("{url}: wrong response"));
                    }
                    t.elapsed().as_nanos() as u64
                });
            }
            let mut out = Vec::with_capacity(k);
            while let Some(r) = set.join_next().await {
                out.push(r.unwrap_or_else(|e| die(&format!("task: {e}"))));
            }
            if let Some(lat) = lat {
                *lat = out;
            }
        })
    };
    let warm = (n / 20).clamp(128, 1000);
    run(warm, None);
    let mut lat = Vec::new();
    let (c0, t0) = (cpu_seconds(), Instant::now());
    run(n, Some(&mut lat));
    report(
        CLIENT,
        "async64_5k",
        n,
        warm,
        t0.elapsed().as_secs_f64(),
        cpu_seconds() - c0,
        lat,
    );
}
