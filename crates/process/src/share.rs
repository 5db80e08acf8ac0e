//! `share`: move B bytes from one process to another, which reads every byte.
//!
//! Processes share no memory unless they set it up: the bytes must be copied
//! through the kernel, or placed in memory both have mapped (C8). The producer
//! (this process) fills its buffer with a pattern that changes every round,
//! untimed; the timed part is everything until the consumer (a forked child,
//! pinned to its own CPU) has read every byte and answered with their sum,
//! which must equal the producer's. Compare `thread share`, where handing over
//! a pointer is enough.
//!
//! Models:
//! - `pipe`: the bytes are written into a pipe and read out of it into the
//!   consumer's own buffer (two copies: into the kernel and out of it), then
//!   summed.
//! - `memfd-mmap`: the producer fills a `memfd_create` file mapped
//!   `MAP_SHARED`, which the consumer has mapped too (inherited through the
//!   fork); a one-byte message says it is ready; the consumer sums the bytes
//!   in place. Nothing is copied.

use std::fs::File;
use std::io::{Read, Write};

use harness::claims::c8;
use harness::cli::{ShareArgs, format_bytes};
use harness::cores::pin_current_thread;
use harness::{Common, Outcome, Session, Timer, Verdict, hist, limits, sample};
use nix::fcntl::{FcntlArg, fcntl};
use workload::bytes::{fill, sum};

use crate::child::{
    Child, SingleThreaded, close_in_child, fork_child, pipe, recv_words, send_words,
};
use crate::shm::SharedBuffer;

harness::models! {
    /// The models of this experiment.
    pub enum Model {
        /// The bytes go through a pipe into the consumer's own buffer.
        Pipe = "pipe",
        /// The bytes are filled into a shared memfd mapping, summed in place.
        MemfdMmap = "memfd-mmap",
    }
}

/// The models of this experiment.
pub const MODELS: &[Model] = Model::ALL;

impl Model {
    /// How many times a transfer copies the bytes: into the kernel and out
    /// of it through a pipe, never through a shared mapping.
    pub const fn copies(self) -> u64 {
        match self {
            Model::Pipe => 2,
            Model::MemfdMmap => 0,
        }
    }
}

/// The byte the consumer sends once it is ready.
const READY: u8 = b'R';
/// The byte that tells the consumer the shared buffer is filled.
const FILLED: u8 = b'F';

/// The producer's end of a consumer process.
#[derive(Debug)]
pub struct Consumer {
    to: File,
    from: File,
    shared: Option<SharedBuffer>,
    local: Vec<u8>,
    child: Option<Child>,
}

impl Consumer {
    /// Forks the consumer of `model` for `bytes`-byte transfers, pinned to
    /// CPU `cpu`, and waits until it is ready.
    pub fn start(
        proof: &SingleThreaded,
        model: Model,
        bytes: usize,
        cpu: usize,
    ) -> anyhow::Result<Consumer> {
        let (data_r, data_w) = pipe()?;
        let (mut answer_r, mut answer_w) = pipe()?;
        let shared = match model {
            Model::Pipe => None,
            Model::MemfdMmap => Some(SharedBuffer::new(bytes)?),
        };
        let child = fork_child(proof, "consumer process", 0, || {
            close_in_child(&data_w); // so that the producer's close is end-of-file
            pin_current_thread(cpu)?;
            match &shared {
                None => consume_pipe(&data_r, &mut answer_w, bytes),
                Some(buf) => consume_shared(&data_r, &mut answer_w, buf),
            }
        })?;
        drop((data_r, answer_w));
        let mut b = [0u8; 1];
        answer_r.read_exact(&mut b)?;
        anyhow::ensure!(b[0] == READY, "the consumer sent {} instead of ready", b[0]);
        Ok(Consumer {
            to: data_w,
            from: answer_r,
            // The producer's buffer is made after the fork, so the child
            // shares none of its pages and filling it copies nothing.
            local: if shared.is_none() {
                vec![0u8; bytes]
            } else {
                Vec::new()
            },
            shared,
            child: Some(child),
        })
    }

    /// Fills the producer's buffer for `round` (untimed); returns the sum of its bytes.
    pub fn fill(&mut self, round: u64) -> u64 {
        match &mut self.shared {
            Some(buf) => fill(buf.as_mut_slice(), round),
            None => fill(&mut self.local, round),
        }
    }

    /// Moves the filled bytes to the consumer and waits for the sum it read.
    pub fn transfer(&mut self) -> anyhow::Result<u64> {
        let sent = match &self.shared {
            Some(_) => self.to.write_all(&[FILLED]),
            None => self.to.write_all(&self.local),
        };
        match sent.and_then(|()| recv_words::<1>(&mut self.from)) {
            Ok([s]) => Ok(s),
            Err(e) => Err(match self.child.take().map(Child::wait) {
                Some(Err(why)) => why,
                _ => anyhow::anyhow!("the consumer process stopped answering: {e}"),
            }),
        }
    }

    /// Ends the consumer (end-of-file on its input) and reaps it.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let child = self.child.take();
        drop(self);
        child.map_or(Ok(()), Child::wait)
    }
}

/// The consumer of `pipe`: reads `bytes` bytes into its own buffer, sums them, answers.
fn consume_pipe(mut data: &File, answer: &mut File, bytes: usize) -> anyhow::Result<()> {
    let mut buf = vec![0u8; bytes];
    buf.fill(1); // fault every page in before the first transfer
    answer.write_all(&[READY])?;
    loop {
        let first = data.read(&mut buf)?;
        if first == 0 {
            return Ok(());
        }
        data.read_exact(&mut buf[first..])?;
        send_words(answer, [sum(&buf)])?;
    }
}

/// The consumer of `memfd-mmap`: on each message, sums the shared bytes in place, answers.
fn consume_shared(mut data: &File, answer: &mut File, buf: &SharedBuffer) -> anyhow::Result<()> {
    answer.write_all(&[READY])?;
    let mut b = [0u8; 1];
    loop {
        if data.read(&mut b)? == 0 {
            return Ok(());
        }
        anyhow::ensure!(b[0] == FILLED, "unexpected message {}", b[0]);
        send_words(answer, [sum(buf.as_slice())])?;
    }
}

fn pipe_capacity(f: &File) -> Option<i64> {
    fcntl(f, FcntlArg::F_GETPIPE_SZ).ok().map(i64::from)
}

/// `process share`.
pub fn run(common: &Common, args: &ShareArgs) -> anyhow::Result<()> {
    let largest = args.sizes.iter().copied().max().unwrap_or(0);
    // The pipe model holds the producer's and the consumer's buffer.
    limits::check_memory(
        2 * largest,
        &format!("two {} buffers", format_bytes(largest)),
    )?;
    let mut s = Session::start("process", "share", common)?;
    let models = s.select_models(MODELS)?;
    let placements = s.placements(args.placement.placement)?;
    for rep in 0..common.reps {
        for p in &placements {
            for &size in &args.sizes {
                let mut rates: Vec<(Model, f64)> = Vec::new();
                for (i, &model) in models.iter().enumerate() {
                    pin_current_thread(p.a())?;
                    let proof = SingleThreaded::check()?;
                    let mut consumer = Consumer::start(&proof, model, size as usize, p.b())?;
                    let variant = format!("{}/{}", format_bytes(size), p.name());
                    let mut case = p
                        .annotate(s.case(model.name(), &variant, rep))
                        .param("bytes", size);
                    if let Some(c) = pipe_capacity(&consumer.to) {
                        case.set_param("pipe_capacity_bytes", c);
                    }
                    let mut h = hist::new();
                    let mut round = 0u64;
                    let done = sample::run_samples(&s.schedule(), &mut h, || {
                        round += 1;
                        let want = consumer.fill(round);
                        let t = Timer::start();
                        let got = consumer.transfer()?;
                        let ns = t.ns();
                        anyhow::ensure!(
                            got == want,
                            "the consumer read sum {got}, the producer wrote {want}"
                        );
                        Ok(ns)
                    })?;
                    consumer.stop()?;
                    s.cores.repin_current_thread()?;
                    let p50 = h.value_at_quantile(0.5).max(1) as f64;
                    let rate = size as f64 / (p50 / 1e9);
                    rates.push((model, rate));
                    let copied = model.copies() * size;
                    let mut out = Outcome::sampled(done, h)
                        .figure("bytes_per_s", rate)
                        .figure("bytes_copied_per_transfer", copied as f64);
                    if size == largest
                        && i + 1 == models.len()
                        && let Some(v) = verdict(&rates, size, p.name())
                    {
                        out = out.verdict(v);
                    }
                    let r = case.finish(&s, out)?;
                    s.emit(r)?;
                }
            }
        }
    }
    s.finish()
}

/// C8 from the rates of one repetition at one size, `None` until both ran.
fn verdict(rates: &[(Model, f64)], size: u64, placement: &str) -> Option<Verdict> {
    let get = |m: Model| rates.iter().find(|r| r.0 == m).map(|r| r.1);
    Some(c8::verdict(
        get(Model::Pipe)?,
        get(Model::MemfdMmap)?,
        size,
        placement,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_compares_pipe_and_mapping() {
        let v = verdict(
            &[(Model::Pipe, 2e9), (Model::MemfdMmap, 8e9)],
            1 << 28,
            "same-cpu",
        )
        .unwrap();
        assert!(v.holds(), "{}", v.text);
        assert!(
            v.text.contains("256MiB") && v.text.contains("4.0×"),
            "{}",
            v.text
        );
        assert!(
            !verdict(&[(Model::Pipe, 8e9), (Model::MemfdMmap, 2e9)], 1 << 28, "x")
                .unwrap()
                .holds()
        );
        assert!(verdict(&[(Model::Pipe, 8e9)], 1 << 28, "x").is_none());
    }

    #[test]
    fn a_shared_buffer_reads_back_what_was_filled() {
        let mut b = SharedBuffer::new(10_000).unwrap();
        let want = fill(b.as_mut_slice(), 3);
        assert_eq!(sum(b.as_slice()), want);
    }
}
