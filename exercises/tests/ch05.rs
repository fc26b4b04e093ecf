//! Exercise 5.B: `cargo test -p exercises -- --ignored ch05`.

mod common;

use workers::search::Case;

#[test]
#[ignore = "exercise 5.B: run with --ignored"]
fn ch05_the_search_stops_on_an_eventfd_flag() {
    // Two workers; the factor lies early in the second one's slice, so the
    // first can only stop by seeing the flag. Five stop trials, too.
    let out = common::exercise(&["ch05", "--case", "early", "--workers", "2"]);
    let report: serde_json::Value =
        serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(report["factor"].as_u64(), Case::Early.number().1);
    assert_eq!(report["per_worker"][0]["searched"]["outcome"], "Stopped");
    assert_eq!(report["stop_latency_ns"]["n"], 5);
}
