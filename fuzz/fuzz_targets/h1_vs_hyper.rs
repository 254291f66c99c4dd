//! The lean HTTP/1.1 path and hyper's client connection get the same response bytes, split
//! into the same reads (`Case::from_fuzz`), and must decide alike; a panic on either side, or a
//! disagreement, is a crash.
#![no_main]

use httpr_runtime::transport::h1_differential::{compare, Case};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(case) = Case::from_fuzz(data) {
        if let Err(why) = compare(&case) {
            panic!("the lean HTTP/1.1 path and hyper disagree:\n{why}");
        }
    }
});
