//! What conpar computes, identical for every concurrency model.
//!
//! This crate holds the *work*: a CPU kernel whose unit is fixed and whose
//! result cannot be optimised away ([`kernel`]), the sizes of the tasks the
//! work is split into ([`tasks`]), the kitchen menu of the seed notes
//! ([`kitchen`]), the message format of the network experiments
//! ([`message`]), the checksums that prove every model did the same work
//! ([`checksum`]) and the byte patterns that prove data moved intact ([`bytes`]).
//!
//! It has no threads, no sockets and no clocks: turning a duration into units
//! of work (calibration) is the harness's job, because it needs a clock.

pub mod bytes;
pub mod checksum;
pub mod kernel;
pub mod kitchen;
pub mod message;
pub mod tasks;

pub use checksum::Checksum;
pub use kernel::{ITERS_PER_UNIT, task_seed, work};
pub use kitchen::{Action, Dish, KitchenPlan, MENU, Order, Step, StepKind};
pub use message::Message;
pub use tasks::{Dist, TaskPlan};
