//! Every command the book shows runs, and exits as it says.
//!
//! A command in a book rots silently: a flag is renamed, a default changes,
//! and the page still tells students to type the old line. So every line of
//! a ```text block that starts with `cargo run --bin` or `python3` (after any
//! `VAR=value`) is run here, the former against the built binary. It must
//! exit 0, or with the code its comment names (`# exit 1: why`). A line whose comment starts with
//! `# not run by the checks` (placeholders, a recipe that waits for another
//! terminal) is skipped, and counted as skipped.

use crate::workspace::{bin_dir, root, step};
use anyhow::{Context, bail};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use workers::ps;
use workers::redis_server::RedisServer;

/// How long one shown command may take: the slowest is a sweep.
const LIMIT: Duration = Duration::from_secs(300);

/// One command as the book shows it.
#[derive(Debug, PartialEq)]
struct Shown {
    /// Where it is shown: `file:line`.
    place: String,
    env: Vec<(String, String)>,
    bin: String,
    args: Vec<String>,
    /// The exit code the book promises.
    exit: i32,
}

/// The commands of one markdown text, or why a line cannot be read.
fn shown_in(file: &str, text: &str) -> anyhow::Result<(Vec<Shown>, usize)> {
    let (mut shown, mut skipped, mut in_text) = (Vec::new(), 0, false);
    for (i, line) in text.lines().enumerate() {
        let place = format!("{file}:{}", i + 1);
        if line.starts_with("```") {
            in_text = line.trim() == "```text";
            continue;
        }
        if !in_text {
            continue;
        }
        let (command, comment) = match line.split_once(" # ") {
            Some((c, note)) => (c.trim(), Some(note.trim())),
            None => (line.trim(), None),
        };
        let mut words = command.split_whitespace().peekable();
        let mut env = Vec::new();
        while let Some((k, v)) = words.peek().and_then(|w| w.split_once('=')) {
            env.push((k.to_string(), v.to_string()));
            words.next();
        }
        // `cargo run --bin NAME -- ARGS`, or the Python side's `python3 ARGS`.
        let python = words.next_if_eq(&"python3").is_some();
        if !python
            && (words.next_if_eq(&"cargo").is_none()
                || words.next_if_eq(&"run").is_none()
                || words.next_if_eq(&"--bin").is_none())
        {
            continue;
        }
        if comment.is_some_and(|c| c.starts_with("not run by the checks")) {
            skipped += 1;
            continue;
        }
        let (bin, args) = if python {
            ("python3", words.map(String::from).collect())
        } else {
            let bin = words
                .next()
                .with_context(|| format!("{place}: no binary"))?;
            let rest: Vec<String> = words.map(String::from).collect();
            let args = match rest.split_first() {
                Some((dashes, args)) if dashes == "--" => args.to_vec(),
                None => Vec::new(),
                Some(_) => bail!("{place}: arguments must follow `--`"),
            };
            (bin, args)
        };
        let exit = match comment.and_then(|c| c.strip_prefix("exit ")) {
            Some(code) => code
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok())
                .with_context(|| format!("{place}: `# exit N` needs a number"))?,
            None => 0,
        };
        shown.push(Shown {
            place,
            env,
            bin: bin.to_string(),
            args,
            exit,
        });
    }
    Ok((shown, skipped))
}

/// Runs every command the book shows; a list of what did not go as shown.
pub fn check(markdown: &[std::path::PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut all = Vec::new();
    let mut skipped = 0;
    for md in markdown {
        let name = md.strip_prefix(root()).unwrap_or(md).display().to_string();
        let (shown, skip) = shown_in(&name, &std::fs::read_to_string(md)?)?;
        all.extend(shown);
        skipped += skip;
    }
    step("cargo", &["build", "--workspace", "--bins"])?;
    // The programs that need Redis get a server of their own, as in the tests.
    let redis = RedisServer::start(&[])?;
    let mut problems = Vec::new();
    for s in &all {
        println!("book: $ {} {}", s.bin, s.args.join(" "));
        if let Err(e) = run(s, &redis) {
            problems.push(format!("{}: `{}`: {e:#}", s.place, s.bin));
        }
    }
    println!(
        "book: {} commands ran as shown, {} failed, {skipped} marked as not run",
        all.len() - problems.len(),
        problems.len()
    );
    Ok(problems)
}

fn run(s: &Shown, redis: &RedisServer) -> anyhow::Result<()> {
    let exe = match s.bin.as_str() {
        "python3" => "python3".into(),
        bin => bin_dir().join(bin),
    };
    if s.bin != "python3" && !Path::new(&exe).exists() {
        bail!("there is no binary {}", s.bin);
    }
    let mut cmd = Command::new(&exe);
    cmd.args(&s.args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if !s.env.iter().any(|(k, _)| k == "REDIS_URL") {
        cmd.env("REDIS_URL", redis.url());
    }
    cmd.envs(s.env.iter().map(|(k, v)| (k, v)));
    let mut child = cmd.spawn()?;
    // Read stderr as it comes: a program that fills the pipe while nobody
    // reads would block, and look like one that hangs.
    let mut pipe = child.stderr.take().expect("stderr was piped");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
        text
    });
    let Some(status) = ps::wait_for(LIMIT, || child.try_wait().ok().flatten())
    else {
        let _ = child.kill();
        let _ = child.wait();
        bail!("still running after {LIMIT:?}");
    };
    if status.code() != Some(s.exit) {
        let stderr = stderr.join().unwrap_or_default();
        bail!("exited with {status}, the book says {}: {stderr}", s.exit);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_commands_their_exit_codes_and_skips() {
        let md = "text\n```text\n\
            cargo run --bin 01-a\n\
            REDIS_URL=redis://x:1 cargo run --bin 06-b -- --case prime  # exit 1: why\n\
            cargo run --bin 06-b -- join <id>  # not run by the checks: placeholders\n\
            strace -c cargo run --bin 01-a\n\
            python3 python/x.py --json\n\
            ```\n```rust\ncargo run --bin not-a-command\n```\n";
        let (shown, skipped) = shown_in("f.md", md).unwrap();
        assert_eq!(skipped, 1);
        assert_eq!(shown.len(), 3);
        assert_eq!((shown[2].bin.as_str(), shown[2].args.len()), ("python3", 2));
        assert_eq!((shown[0].bin.as_str(), shown[0].exit), ("01-a", 0));
        assert_eq!(shown[1].env, [("REDIS_URL".into(), "redis://x:1".into())]);
        assert_eq!(
            (shown[1].args.clone(), shown[1].exit),
            (vec!["--case".to_string(), "prime".into()], 1)
        );
        assert_eq!(shown[1].place, "f.md:4");
    }
}
