//! `share`: hand B bytes from one thread to another, which reads every byte.
//!
//! Threads share one address space, so "moving" data is handing over a
//! pointer: the producer fills a buffer (untimed), then the timed part is the
//! hand-over through a channel, the consumer reading (summing) every byte,
//! and the reply. No byte is copied; the consumer's reads pull the data from
//! the producer's cache or from memory. Compare `process share`, where the
//! bytes must go through a pipe (copied twice) or a shared mapping (C8).
//!
//! Model: `arc` (an `Arc<Vec<u8>>` sent over a `std::sync::mpsc` channel).

use std::sync::Arc;
use std::sync::mpsc;
use std::thread;

use harness::cli::{ShareArgs, format_bytes};
use harness::cores::pin_current_thread;
use harness::{Common, Outcome, Session, Timer, hist, limits, sample};
use workload::bytes;

harness::models! {
    /// The models of this experiment.
    pub enum Model {
        /// An `Arc<Vec<u8>>` sent over a `std::sync::mpsc` channel.
        Arc = "arc",
    }
}

/// The models of this experiment.
pub const MODELS: &[Model] = Model::ALL;

/// A consumer thread that sums every buffer it is handed and hands it back.
pub struct Consumer {
    to: Option<mpsc::Sender<Arc<Vec<u8>>>>,
    back: mpsc::Receiver<(u64, Arc<Vec<u8>>)>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Consumer {
    /// Starts the consumer, pinned to `cpu`.
    pub fn start(cpu: usize) -> anyhow::Result<Consumer> {
        let (to, rx) = mpsc::channel::<Arc<Vec<u8>>>();
        let (tx, back) = mpsc::channel();
        let handle = thread::Builder::new()
            .name("share-consumer".into())
            .spawn(move || {
                let _ = pin_current_thread(cpu);
                for buf in rx {
                    let sum = bytes::sum(&buf);
                    if tx.send((sum, buf)).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| anyhow::anyhow!("cannot start the consumer thread: {e}"))?;
        Ok(Consumer {
            to: Some(to),
            back,
            handle: Some(handle),
        })
    }

    /// Hands `buf` over and waits for the consumer's sum; returns it with the buffer.
    pub fn hand_over(&self, buf: Arc<Vec<u8>>) -> anyhow::Result<(u64, Arc<Vec<u8>>)> {
        self.to
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("consumer stopped"))?
            .send(buf)?;
        Ok(self.back.recv()?)
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        self.to.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// `thread share`.
pub fn run(common: &Common, args: &ShareArgs) -> anyhow::Result<()> {
    let largest = args.sizes.iter().copied().max().unwrap_or(0);
    limits::check_memory(largest, &format!("a {} buffer", format_bytes(largest)))?;
    let mut s = Session::start("thread", "share", common)?;
    let models = s.select_models(MODELS)?;
    let placements = s.placements(args.placement.placement)?;
    for rep in 0..common.reps {
        for p in &placements {
            for &size in &args.sizes {
                for &model in &models {
                    pin_current_thread(p.a())?;
                    let consumer = Consumer::start(p.b())?;
                    let mut buf = Arc::new(vec![0u8; size as usize]);
                    let variant = format!("{}/{}", format_bytes(size), p.name());
                    let case = p
                        .annotate(s.case(model.name(), &variant, rep))
                        .param("bytes", size);
                    let mut h = hist::new();
                    let mut round = 0u64;
                    let done = sample::run_samples(&s.schedule(), &mut h, || {
                        round += 1;
                        let data = Arc::get_mut(&mut buf)
                            .ok_or_else(|| anyhow::anyhow!("the consumer kept the buffer"))?;
                        let want = bytes::fill(data, round);
                        let t = Timer::start();
                        let (got, back) = consumer.hand_over(std::mem::take(&mut buf))?;
                        let ns = t.ns();
                        buf = back;
                        anyhow::ensure!(
                            got == want,
                            "the consumer read sum {got}, the producer wrote {want}"
                        );
                        Ok(ns)
                    })?;
                    drop(consumer);
                    s.cores.repin_current_thread()?;
                    let p50 = h.value_at_quantile(0.5).max(1) as f64;
                    let out = Outcome::sampled(done, h)
                        .figure("bytes_per_s", size as f64 / (p50 / 1e9))
                        .figure("bytes_copied_per_transfer", 0.0);
                    let r = case.finish(&s, out)?;
                    s.emit(r)?;
                }
            }
        }
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consumer_reads_what_the_producer_wrote() {
        let cpu = harness::cores::allowed_cpus().unwrap()[0];
        let c = Consumer::start(cpu).unwrap();
        let mut buf = vec![0u8; 10_000];
        let want = bytes::fill(&mut buf, 7);
        let (got, back) = c.hand_over(Arc::new(buf)).unwrap();
        assert_eq!(got, want);
        assert_eq!(back.len(), 10_000);
    }
}
