//! The real binary, run as a student or a script would run it. The checks are
//! shared by every flag chapter: see `workers::testkit`.

use assert_cmd::cargo::cargo_bin;
use workers::testkit as kit;

const PREFIX: &str = "04-rawvalue-flag";

#[test]
fn every_case_finds_its_factor() {
    kit::every_case_finds_its_factor(cargo_bin!("04-rawvalue-flag"));
}

#[test]
fn early_exit_stops_the_others() {
    kit::early_exit_stops_the_others(cargo_bin!("04-rawvalue-flag"));
}

#[test]
fn bad_input_is_refused_with_exit_2() {
    kit::bad_input_is_refused_with_exit_2(cargo_bin!("04-rawvalue-flag"));
}

#[test]
fn ctrl_c_leaves_no_process_and_no_segment() {
    kit::ctrl_c_leaves_nothing(cargo_bin!("04-rawvalue-flag"), PREFIX);
}

#[test]
fn a_killed_worker_ends_the_run_cleanly() {
    kit::a_killed_worker_ends_the_run_cleanly(
        cargo_bin!("04-rawvalue-flag"),
        PREFIX,
    );
}

#[test]
fn a_normal_run_leaves_nothing_behind() {
    kit::a_normal_run_leaves_nothing(cargo_bin!("04-rawvalue-flag"), PREFIX);
}

#[test]
fn load_then_store_loses_updates_fetch_add_does_not() {
    kit::racy_counter_loses_updates_atomic_does_not(
        cargo_bin!("04-rawvalue-flag"),
        200_000,
    );
}
