//! Exercise 5.B: `cargo test -p exercises -- --ignored ch05`.

mod common;

use workers::search::Case;

#[test]
#[ignore = "exercise 5.B: run with --ignored"]
fn ch05_the_search_stops_on_an_eventfd_flag() {
    // Two workers search the early case, then five stop trials: the parent
    // raises the flag and every worker must see it (the program fails
    // otherwise, and if the flag is seen when it is down).
    let out = common::exercise(&["ch05", "--case", "early", "--workers", "2"]);
    let report: serde_json::Value =
        serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(report["factor"].as_u64(), Case::Early.number().1);
    assert_eq!(report["per_worker"].as_array().map(Vec::len), Some(2));
    assert_eq!(report["stop_latency_ns"]["n"], 5);
}
