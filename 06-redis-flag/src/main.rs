//! `cargo run --bin 06-redis-flag`: not written yet.
//!
//! The workspace is laid out whole from the start so that every chapter's
//! command exists; this program is filled in by its own issue.

fn main() -> std::process::ExitCode {
    eprintln!(
        "06-redis-flag is not written yet: its chapter of the book is still to come. \
         Try `cargo run --bin 01-work-queue`."
    );
    std::process::ExitCode::FAILURE
}
