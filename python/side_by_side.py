"""The Python side of the book's comparisons, measured as the Rust programs measure.

Run it:  python3 python/side_by_side.py          (a table)
         python3 python/side_by_side.py --json   (what `cargo xtask measure` reads)

Standard library only. With redis-py installed and REDIS_URL set, the Redis
flag is measured too; otherwise its row says why it was not.

Everything is timed inside a worker process started with the "spawn" method,
as the Rust workers are separate processes:
- one look at a stop flag, written as the text writes it, for Manager.Value,
  RawValue, mmap and Redis, and for a local variable (the floor);
- chapter 1's multiprocessing.Queue, one number per message and 64 per
  message, against checking the same numbers in one process: what starting
  the workers costs, tiny tasks (numbers from 10^4), heavy tasks (from
  10^12), and a sweep of task cost from 10^2 to 10^14, as the Rust --sweep.

Every timed figure is a summary {n, median, min, max, p99, samples} of the
rounds. The queue takes a few minutes on two cores, most of it in the heavy
tasks and the sweep's largest numbers.
"""

import json
import math
import mmap
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time

FLAG_CLEAR, FLAG_SET = b"0", b"1"
SAMPLES = 11
# Untimed looks before the samples (workers::flag::parent's SETTLE_NS).
SETTLE_NS = 200_000_000
# Rounds timed for every queue figure, serial and parallel alike, as
# `cargo xtask measure` times the Rust queues (--repeats 11): enough for a
# verdict at 99% with an outlier or two; odd, so that a median is one of the
# rounds.
ROUNDS = 11
# The numbers of the Rust sweep's 10^4 row: tiny tasks, many of them.
QUEUE_FROM, QUEUE_TASKS, BATCH = 10_000, 20_000, 64
# Heavy tasks: numbers from 10^12, where a prime takes half a million
# divisions. Rust checks 10^4 of them; a Python division is far slower, so
# Python checks fewer: 4000 take about twenty seconds in all on two cores, and
# still make 63 messages of 64. Speedup and overhead against task cost are
# what compare, not the count.
HEAVY_FROM, HEAVY_TASKS = 10**12, 4_000
# The sweep, as the Rust --sweep: numbers from 10^2 to 10^14 in steps of 10^2,
# for each as many as take about 50 ms serially, within these bounds.
SWEEP_FROM = [10**e for e in range(2, 15, 2)]
SWEEP_TARGET_NS, SWEEP_MIN_TASKS, SWEEP_MAX_TASKS = 50_000_000, 256, 20_000
STOP = None  # the pill on the queue


def is_prime(n):
    """Trial division, as the text's and the Rust programs' test."""
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    for d in range(3, math.isqrt(n) + 1, 2):
        if n % d == 0:
            return False
    return True


def summary(samples):
    """The Rust programs' summary (workers::stats::Summary), field for field:
    the samples are kept, in the order taken, so that the book compares two
    figures by all of them (Mann-Whitney), as it compares two Rust figures."""
    s = sorted(samples)
    rank = math.ceil(0.99 * len(s))  # nearest-rank 99th percentile
    return {
        "n": len(s),
        "median": statistics.median(s),
        "min": s[0],
        "max": s[-1],
        "p99": s[min(max(rank, 1), len(s)) - 1],
        "samples": list(samples),
    }


def timed(looks):
    """Nanoseconds per look: `looks(iters)` runs that many looks. The count is
    doubled until one sample takes 2 ms; then, as the Rust programs do, looks
    run untimed for SETTLE_NS, until the scheduler has moved a manager or a
    Redis server off the asking process's core; then SAMPLES samples."""
    iters = 64
    while True:
        t = time.perf_counter_ns()
        looks(iters)
        if time.perf_counter_ns() - t >= 2_000_000 or iters >= 1 << 26:
            break
        iters *= 2
    settle = time.perf_counter_ns()
    while time.perf_counter_ns() - settle < SETTLE_NS:
        looks(iters)
    samples = []
    for _ in range(SAMPLES):
        t = time.perf_counter_ns()
        looks(iters)
        samples.append((time.perf_counter_ns() - t) / iters)
    return summary(samples)


# One loop per flag, each with the text's own check inlined, so that a look
# costs what it costs in the text's code and no extra call.
def look_local(iters):
    flag = FLAG_CLEAR
    for _ in range(iters):
        if flag == FLAG_SET:
            break


def look_value(flag):
    def looks(iters):
        for _ in range(iters):
            if flag.value == FLAG_SET:
                break

    return looks


def look_mmap(sh_mem):
    def looks(iters):
        for _ in range(iters):
            sh_mem.seek(0)
            if sh_mem.read(1) == FLAG_SET:
                break

    return looks


def look_redis(r, key):
    def looks(iters):
        for _ in range(iters):
            if r.get(key) == FLAG_SET:
                break

    return looks


def measure_looks(manager_flag, raw_flag, mmap_path, out):
    """In a worker: time one look at each flag; put the results on `out`."""
    with open(mmap_path, "r+b") as f:
        sh_mem = mmap.mmap(f.fileno(), 1)
    result = {
        "floor": timed(look_local),
        "manager": timed(look_value(manager_flag)),
        "rawvalue": timed(look_value(raw_flag)),
        "mmap": timed(look_mmap(sh_mem)),
    }
    out.put(result)


def measure_redis(url, out):
    """In a worker: one look at a Redis key with redis-py, or why not."""
    try:
        import redis  # noqa: PLC0415 (optional: only where installed)
    except ImportError:
        out.put({"not_run": "redis-py is not installed (pip install redis)"})
        return
    r = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    key = f"py-flag:{os.getpid()}-{time.monotonic_ns()}"
    try:
        r.set(key, FLAG_CLEAR, ex=600)
        out.put({"summary": timed(look_redis(r, key))})
    except redis.RedisError as e:
        out.put({"not_run": f"Redis at {url.split('@')[-1]} did not answer ({e})"})
    finally:
        try:
            r.delete(key)
        except redis.RedisError:
            pass


def queue_worker(tasks, results):
    """The text's worker: take tasks until the pill, report primes, say done."""
    results.put([])  # running: the parent starts its clock only now
    while True:
        batch = tasks.get()
        if batch is STOP:
            results.put(STOP)
            return
        results.put([n for n in batch if is_prime(n)])


class Pool:
    """`workers` queue workers on one pair of queues, started once and reused
    for every round of one measurement, as the Rust programs reuse theirs.

    `startup_ns` is from the first `Process.start()` until every worker has
    put its "running" message: what starting spawn workers costs."""

    def __init__(self, ctx, workers):
        self.tasks, self.results = ctx.Queue(), ctx.Queue()
        self.procs = [
            ctx.Process(target=queue_worker, args=(self.tasks, self.results))
            for _ in range(workers)
        ]
        t = time.perf_counter_ns()
        for p in self.procs:
            p.start()
        for _ in self.procs:
            self.results.get()
        self.startup_ns = time.perf_counter_ns() - t

    def round(self, numbers, batch):
        """Wall time of one pass of `numbers`, `batch` per message, and the
        primes found. Every worker already runs, so start-up is not timed."""
        t = time.perf_counter_ns()
        messages = 0
        for i in range(0, len(numbers), batch):
            self.tasks.put(numbers[i : i + batch])
            messages += 1
        primes = []
        for _ in range(messages):
            primes.extend(self.results.get())
        elapsed = time.perf_counter_ns() - t
        return elapsed, sorted(primes)

    def close(self):
        """A pill each, then every answer read before joining: joining a
        process whose items are still buffered for a queue can deadlock."""
        for _ in self.procs:
            self.tasks.put(STOP)
        finished = 0
        while finished < len(self.procs):
            finished += self.results.get() is STOP
        for p in self.procs:
            p.join()

    def __enter__(self):
        return self

    def __exit__(self, kind, _value, _tb):
        if kind is None:
            self.close()
        else:  # answers may be missing: no orderly end to wait for
            for p in self.procs:
                p.terminate()
                p.join()


def serial_round(numbers):
    """Wall time of checking `numbers` in this process, no queue, and the primes."""
    t = time.perf_counter_ns()
    primes = [n for n in numbers if is_prime(n)]
    return time.perf_counter_ns() - t, primes


def measure_numbers(ctx, workers, first, count, startups):
    """Numbers `first..first+count` checked serially and through the queue, one
    and BATCH per message, ROUNDS times each; each pool's start-up is added to
    `startups`.

    Every figure is a summary over the rounds. Overhead and speedup take each
    parallel round against the serial median, so their median (ROUNDS is odd)
    is the figure computed from the two medians, as the Rust sweep computes it,
    and their spread is that of the parallel rounds."""
    numbers = list(range(first, first + count))
    serial, expected = [], None
    for _ in range(ROUNDS):
        ns, expected = serial_round(numbers)
        serial.append(ns)
    serial_ns = summary(serial)
    share = serial_ns["median"] / workers  # each worker's part of the work
    row = {
        "from": first,
        "tasks": count,
        "task_ns": summary([s / count for s in serial]),
        "serial_ns": serial_ns,
    }
    for name, batch in (("unbatched", 1), ("batched", BATCH)):
        walls = []
        with Pool(ctx, workers) as pool:
            startups.append(pool.startup_ns)
            for _ in range(ROUNDS):
                wall, primes = pool.round(numbers, batch)
                assert primes == expected, "the queue lost or repeated a task"
                walls.append(wall)
        row[name] = {
            "batch": batch,
            "wall_ns": summary(walls),
            "overhead_per_task_ns": summary([(w - share) / count for w in walls]),
            "speedup": summary([serial_ns["median"] / w for w in walls]),
        }
    return row


def measure_sweep(ctx, workers, startups):
    """As the Rust `--sweep`: for each size, as many numbers as make a serial
    run near SWEEP_TARGET_NS (from a probe of SWEEP_MIN_TASKS), bounded."""
    rows = []
    for first in SWEEP_FROM:
        probe_ns, _ = serial_round(range(first, first + SWEEP_MIN_TASKS))
        per_task = max(probe_ns // SWEEP_MIN_TASKS, 1)
        count = min(max(SWEEP_TARGET_NS // per_task, SWEEP_MIN_TASKS), SWEEP_MAX_TASKS)
        rows.append(measure_numbers(ctx, workers, first, count, startups))

    def crossover(leg):
        wins = (r["task_ns"]["median"] for r in rows if r[leg]["speedup"]["median"] > 1)
        return next(wins, None)

    return {
        "target_ns": SWEEP_TARGET_NS,
        "min_tasks": SWEEP_MIN_TASKS,
        "max_tasks": SWEEP_MAX_TASKS,
        "rows": rows,
        "crossover_unbatched_ns": crossover("unbatched"),
        "crossover_batched_ns": crossover("batched"),
    }


def measure_queue(ctx, workers):
    """Chapter 1 in Python: tiny tasks (the fields at the top), heavy tasks,
    the sweep, and the start-up of every pool they started."""
    startups = []
    tiny = measure_numbers(ctx, workers, QUEUE_FROM, QUEUE_TASKS, startups)
    heavy = measure_numbers(ctx, workers, HEAVY_FROM, HEAVY_TASKS, startups)
    sweep = measure_sweep(ctx, workers, startups)
    return {
        "workers": workers,
        "rounds": ROUNDS,
        "startup_ns": summary(startups),
        **tiny,
        "heavy": heavy,
        "sweep": sweep,
    }


def human_ns(ns):
    """Nanoseconds in the unit that suits them, as the Rust programs print."""
    for scale, unit in ((1, "ns"), (1e3, "µs"), (1e6, "ms")):
        if abs(ns) < scale * 1e3:
            break
    else:
        scale, unit = 1e9, "s"
    v = ns / scale
    return f"{v:.{2 if abs(v) < 10 else 1 if abs(v) < 100 else 0}f} {unit}"


def spread(s, show=human_ns):
    return f"{show(s['median'])} ({show(s['min'])} to {show(s['max'])})"


def ratio(x):
    return f"{x:.3f}x"


def power(n):
    return f"10^{round(math.log10(n))}"


def print_row(row):
    print(
        f"  {row['tasks']} numbers from {power(row['from'])}, "
        f"a task {spread(row['task_ns'])} serially:"
    )
    for name in ("unbatched", "batched"):
        leg = row[name]
        print(
            f"    {leg['batch']:3} per message: overhead per task "
            f"{spread(leg['overhead_per_task_ns'])}, "
            f"speedup {spread(leg['speedup'], ratio)}"
        )


def print_queue(q):
    print(
        f"A Queue, {q['workers']} spawn workers, every figure the median "
        f"(min to max) of {q['rounds']} rounds:"
    )
    s = q["startup_ns"]
    print(f"  start-up, until every worker runs: {spread(s)} over {s['n']} pools")
    print_row(q)
    print_row(q["heavy"])
    sweep = q["sweep"]
    print(
        f"Queue cost against task cost (medians; numbers enough for about "
        f"{human_ns(sweep['target_ns'])} serially):"
    )
    batch = sweep["rows"][0]["batched"]["batch"]
    head = ("from", "numbers", "task", "1/msg speedup", "overhead")
    head += (f"{batch}/msg speedup", "overhead")
    print("  " + "".join(f"{h:>16}" for h in head))
    for r in sweep["rows"]:
        cells = (
            power(r["from"]),
            str(r["tasks"]),
            human_ns(r["task_ns"]["median"]),
            ratio(r["unbatched"]["speedup"]["median"]),
            human_ns(r["unbatched"]["overhead_per_task_ns"]["median"]),
            ratio(r["batched"]["speedup"]["median"]),
            human_ns(r["batched"]["overhead_per_task_ns"]["median"]),
        )
        print("  " + "".join(f"{c:>16}" for c in cells))
    for label, ns in (
        ("1 per message", sweep["crossover_unbatched_ns"]),
        (f"{batch} per message", sweep["crossover_batched_ns"]),
    ):
        if ns is None:
            print(f"  {label}: parallel never won in this sweep")
        else:
            print(f"  {label}: parallel first wins at tasks of {human_ns(ns)}")


def main():
    ctx = mp.get_context("spawn")
    workers = os.cpu_count() or 2
    manager = ctx.Manager()
    manager_flag = manager.Value("c", FLAG_CLEAR)
    raw_flag = ctx.RawValue("c", FLAG_CLEAR)
    # A one-byte file every process maps, as in the Rust chapter (the text's
    # anonymous map is shared only with forked children, not spawned ones).
    path = f"/dev/shm/py-mmap-flag-{os.getpid()}"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, FLAG_CLEAR)
        out = ctx.Queue()
        p = ctx.Process(target=measure_looks, args=(manager_flag, raw_flag, path, out))
        p.start()
        looks = out.get()
        p.join()
    finally:
        os.close(fd)
        os.unlink(path)
        manager.shutdown()
    url = os.environ.get("REDIS_URL")
    if url:
        out = ctx.Queue()
        p = ctx.Process(target=measure_redis, args=(url, out))
        p.start()
        looks["redis"] = out.get()
        p.join()
    else:
        looks["redis"] = {"not_run": "REDIS_URL is not set"}
    report = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "looks_ns": looks,
        "queue": measure_queue(ctx, workers),
    }
    if "--json" in sys.argv[1:]:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['implementation']} {report['python']}, one look at each flag (median ns):")
    for name, s in looks.items():
        value = s.get("median", s.get("summary", {}).get("median"))
        print(f"  {name:10} {value:12.1f}" if value is not None else f"  {name:10} {s}")
    print_queue(report["queue"])


if __name__ == "__main__":
    main()
